"""The deploy path's guards, in process: a deploy refused by any guard writes nothing — no
release, no rollout, no override audit event, no agent call — even when an earlier guard was
overridden; a deploy that passes starts its rollout on the agent.

The agent is the package's in-memory fake (nothing to start), the workspace a real one on
SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from roost.control.dataplane.fake import FakeAgent
from roost.control.errors import OperationError
from roost.control.operations.deploying import Deployments
from roost.control.operations.plane import ControlPlane
from roost.control.releases.releasing import cut_release
from roost.control.releases.vault import vault_of
from roost.control.rollouts.executor import RolloutExecutor
from roost.control.workspace import Workspace, open_workspace

PROJECT = """\
project: guarded
version: 1
environments:
  dev: {}
  prod:
    approval:
      required: true
      four_eyes: true
    scan:
      fail_on: high
services:
  - name: web
    command: python3 app.py
    environments: [dev, prod]
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "app.py").write_text("")
    with open_workspace(tmp_path) as ws:
        yield ws


def _deployments(ws: Workspace, agent: FakeAgent) -> Deployments:
    plane = ControlPlane(ws)
    executor = RolloutExecutor(ws, agent_dir=plane.agent_dir, connect=lambda: agent)
    return Deployments(plane, executor)


def _events(ws: Workspace) -> list[str]:
    return [e.type for e in ws.store.events.list(limit=1000)]


def test_an_overridden_scan_is_not_audited_when_four_eyes_refuses_the_deploy(
    workspace: Workspace,
) -> None:
    # Regression: the scan gate wrote its override event before the four-eyes check refused.
    agent = FakeAgent()
    ops = _deployments(workspace, agent)
    with pytest.raises(OperationError, match="four eyes") as refused:
        ops.deploy(
            "web", environment="prod", actor="alice", approve=True, override_scan="no db yet"
        )
    assert refused.value.status == 403
    assert agent.calls == []
    assert not [t for t in _events(workspace) if "overrid" in t]
    assert workspace.store.releases.list() == []
    assert workspace.store.rollouts.list() == []


def test_the_deploy_guards_run_in_one_order() -> None:
    from roost.control.guards import DEPLOY_GUARDS, ROLLBACK_GUARDS

    assert [g.name for g in DEPLOY_GUARDS] == [
        "leading",
        "freeze",
        "one_rollout",
        "deploy_lock",
        "promotion",
        "quarantine",
        "error_budget",
        "scan",
        "already_running",
        "approval",
        "schema",
        "secrets",
    ]
    assert [g.name for g in ROLLBACK_GUARDS] == ["leading", "freeze", "one_rollout", "deploy_lock"]


def test_a_freeze_refuses_before_the_scan_is_overridden_or_the_agent_asked(
    tmp_path: Path,
) -> None:
    frozen = PROJECT.replace(
        "    scan:\n",
        "    freeze_windows:\n"
        "      - name: forever\n"
        "        start: 2000-01-01T00:00:00Z\n"
        "        end: 2999-01-01T00:00:00Z\n"
        "    scan:\n",
    )
    (tmp_path / "roost.yaml").write_text(frozen)
    (tmp_path / "app.py").write_text("")

    class Unreachable(FakeAgent):
        def state(self) -> dict[str, Any]:
            raise AssertionError("a frozen deploy asked the agent")

    with open_workspace(tmp_path) as ws:
        ops = _deployments(ws, Unreachable())
        with pytest.raises(OperationError, match="frozen by 'forever'") as refused:
            ops.deploy("web", environment="prod", actor="alice", override_scan="hotfix")
        assert refused.value.status == 423
        assert _events(ws) == []
        assert ws.store.releases.list() == []


def _running(agent: FakeAgent, ws: Workspace) -> str:
    """A first release of web at 100% on the fake agent, as ``roost up`` leaves it."""
    release = cut_release(
        ws.store, ws.project, "web", root=ws.root, vault=vault_of(ws), created_by="test"
    )
    dev = agent.in_environment("dev")
    dev.ensure_listener("web")
    dev.start_revision("{}", service="web", revision=release.id)
    dev.set_weights("web", {release.id: 100}, fencing_token=None)
    agent.calls.clear()
    return release.id


def test_a_deploy_that_passes_every_guard_starts_its_rollout_on_the_agent(
    workspace: Workspace,
) -> None:
    agent = FakeAgent()
    stable = _running(agent, workspace)
    view = _deployments(workspace, agent).deploy("web", environment="dev", actor="alice")
    assert view["to_release"] == "web-r2"
    assert view["from_release"] == stable
    assert ("start_revision", "web") in agent.calls  # the canary, started from its release
    (record,) = workspace.store.rollouts.list()
    assert record.active
    assert [e for e in _events(workspace) if e.startswith("dev.roost.rollout.")]


def test_the_release_that_has_the_traffic_is_refused_and_nothing_is_written(
    workspace: Workspace,
) -> None:
    agent = FakeAgent()
    stable = _running(agent, workspace)
    with pytest.raises(OperationError, match="already runs web in dev") as refused:
        _deployments(workspace, agent).deploy(
            "web", environment="dev", release=stable, actor="alice"
        )
    assert refused.value.status == 409
    assert agent.calls == []
    assert workspace.store.rollouts.list() == []
    assert [r.id for r in workspace.store.releases.list()] == [stable]
