"""The deploy path's guards, in process: a deploy refused by any guard writes nothing — no
release, no rollout, and no override audit event — even when an earlier guard was overridden.

The agent is a small in-memory fake (nothing to start), the workspace a real one on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from roost.control.errors import OperationError
from roost.control.operations.deploying import Deployments
from roost.control.operations.plane import ControlPlane
from roost.control.rollouts.executor import RolloutExecutor
from roost.control.workspace import Workspace, open_workspace

PROJECT = """\
project: guarded
version: 1
environments:
  prod:
    approval:
      required: true
      four_eyes: true
    scan:
      fail_on: high
services:
  - name: web
    command: python3 app.py
    environments: [prod]
"""


class _Agent:
    """Runs nothing: the deploy path only asks it what takes the traffic."""

    url = "http://127.0.0.1:1"

    def close(self) -> None:
        pass

    def state(self) -> dict[str, Any]:
        return {"services": {}}

    def __getattr__(self, name: str) -> Any:  # anything else is a deploy that went too far
        raise AssertionError(f"the agent was asked to {name}")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "app.py").write_text("")
    with open_workspace(tmp_path) as ws:
        yield ws


def _deployments(ws: Workspace) -> Deployments:
    plane = ControlPlane(ws)
    executor = RolloutExecutor(ws, agent_dir=plane.agent_dir, connect=_Agent)
    return Deployments(plane, executor)


def _events(ws: Workspace) -> list[str]:
    return [e.type for e in ws.store.events.list(limit=1000)]


def test_an_overridden_scan_is_not_audited_when_four_eyes_refuses_the_deploy(
    workspace: Workspace,
) -> None:
    # Regression: the scan gate wrote its override event before the four-eyes check refused.
    ops = _deployments(workspace)
    with pytest.raises(OperationError, match="four eyes") as refused:
        ops.deploy("web", actor="alice", approve=True, override_scan="no database here yet")
    assert refused.value.status == 403
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

    class Unreachable(_Agent):
        def state(self) -> dict[str, Any]:
            raise AssertionError("a frozen deploy asked the agent")

    with open_workspace(tmp_path) as ws:
        plane = ControlPlane(ws)
        ops = Deployments(
            plane, RolloutExecutor(ws, agent_dir=plane.agent_dir, connect=Unreachable)
        )
        with pytest.raises(OperationError, match="frozen by 'forever'") as refused:
            ops.deploy("web", actor="alice", override_scan="hotfix")
        assert refused.value.status == 423
        assert _events(ws) == []
        assert ws.store.releases.list() == []
