"""The control plane treats environments as boundaries: the stable revision of a deploy is read
from the target environment's router only, an executor step talks to its rollout's environment
only, and a command that names a service with active rollouts in two environments is refused
until it names one. The agent is an in-memory fake with two environments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from roost.control.errors import OperationError
from roost.control.operations.deploying import Deployments
from roost.control.operations.plane import ControlPlane
from roost.control.rollouts.executor import RolloutExecutor
from roost.control.rollouts.observing import environment_view, replica_keys
from roost.control.workspace import Workspace, open_workspace

PROJECT = """\
project: bounded
version: 1
environments:
  dev: {}
  staging: {}
services:
  - name: web
    command: python3 app.py
"""

STATE = {
    "default_environment": "dev",
    "environments": {
        "dev": {
            "environment": "dev",
            "services": {
                "web": {
                    "weights": {"web-r1": 100, "web-r2": 0},
                    "revisions": [{"revision": "web-r1", "replicas": [{"index": 0, "pid": 11}]}],
                }
            },
        },
        "staging": {
            "environment": "staging",
            "services": {
                "web": {
                    "weights": {"web-r2": 100},
                    "revisions": [{"revision": "web-r2", "replicas": [{"index": 0, "pid": 22}]}],
                }
            },
        },
    },
}


class _Agent:
    """Answers ``state()`` like the agent: the whole agent, or one environment's part."""

    url = "http://127.0.0.1:1"
    asked: ClassVar[list[str | None]] = []

    def __init__(self, environment: str | None = None) -> None:
        self.environment = environment

    def in_environment(self, environment: str) -> _Agent:
        return _Agent(environment)

    def close(self) -> None:
        pass

    def state(self) -> dict[str, Any]:
        _Agent.asked.append(self.environment)
        if self.environment is None:
            return STATE
        return dict(environment_view(STATE, self.environment))


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


def test_the_stable_revision_is_the_target_environments(workspace: Workspace) -> None:
    ops = _deployments(workspace)
    _Agent.asked.clear()
    assert ops.stable("web", "dev") == "web-r1"
    assert ops.stable("web", "staging") == "web-r2"
    assert ops.stable("web", "production") is None  # runs nothing there
    assert _Agent.asked == ["dev", "staging", "production"]


def test_views_of_one_environment_and_of_all() -> None:
    assert environment_view(STATE, "staging")["services"]["web"]["weights"] == {"web-r2": 100}
    assert environment_view(STATE, "qa") == {"environment": "qa", "services": {}}
    one = environment_view(STATE, "dev")
    assert environment_view(one, "dev") is one  # already one environment's
    assert sorted(k.pid for k in replica_keys(STATE)) == [11, 22]


def test_a_service_with_rollouts_in_two_environments_needs_the_environment_named(
    workspace: Workspace,
) -> None:
    store = workspace.store
    for _ in range(2):
        store.releases.create(
            "web",
            artifact="dir:.",
            config={"name": "web", "command": ["python3", "app.py"]},
            secrets={},
            schema_requires="",
            created_by="test",
        )
    dev = store.rollouts.create(
        "web", "dev", to_release="web-r2", from_release="web-r1", strategy="canary"
    )
    staging = store.rollouts.create("web", "staging", to_release="web-r1", strategy="canary")
    ops = _deployments(workspace)
    with pytest.raises(OperationError, match="web has active rollouts in dev and staging") as err:
        ops.find("web")
    assert err.value.status == 409
    assert "--env" in str(err.value.hint)
    assert ops.find("web", "dev").id == dev.id
    assert ops.find("web", "staging").id == staging.id
    assert ops.find(staging.id).id == staging.id
