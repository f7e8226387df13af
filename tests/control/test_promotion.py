"""Promotion between environments, in process on the fake agent and a virtual clock: staging
(``promote_from: dev``, ``soak_time: 1m``) accepts only what dev promoted, once it soaked;
``--force`` is audited, and only when the deploy goes ahead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.clock import VirtualClock
from roost.control.dataplane.fake import FakeAgent
from roost.control.errors import OperationError
from roost.control.operations.first_deploys import record_first_deploy
from roost.control.releases.releasing import cut_release
from roost.control.releases.vault import vault_of
from roost.control.wiring import Wiring, wire
from roost.control.workspace import open_workspace

PROJECT = """\
project: promoted
version: 1
environments:
  dev: {}
  staging:
    promote_from: dev
    soak_time: 1m
services:
  - name: web
    command: python3 app.py
"""


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Wiring, VirtualClock, FakeAgent]]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "app.py").write_text("")
    clock = VirtualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    agent = FakeAgent()
    with open_workspace(tmp_path, clock=clock) as ws:
        for _ in range(2):
            cut_release(
                ws.store, ws.project, "web", root=ws.root, vault=vault_of(ws), created_by="test"
            )
        # web-r1 runs dev (as `roost up` leaves it); web-r2 never ran anywhere.
        record_first_deploy(
            ws, service="web", environment="dev", release="web-r1", actor="ci", fence=None
        )
        dev = agent.in_environment("dev")
        dev.start_revision("{}", service="web", revision="web-r1")
        dev.set_weights("web", {"web-r1": 100}, fencing_token=None)
        yield wire(ws, connect=lambda: agent), clock, agent


def test_staging_takes_only_what_dev_promoted_once_it_soaked(
    wired: tuple[Wiring, VirtualClock, FakeAgent],
) -> None:
    w, clock, agent = wired
    ops = w.deployments
    with pytest.raises(OperationError) as never:
        ops.deploy("web", environment="staging", release="web-r2", actor="alice")
    assert never.value.status == 409
    assert str(never.value) == (
        "staging takes releases from dev: web-r2 never ran in dev; dev runs web-r1"
    )
    clock.advance(20)
    with pytest.raises(OperationError) as soaking:
        ops.deploy("web", environment="staging", actor="alice")  # what dev runs: web-r1
    assert str(soaking.value) == (
        "staging takes releases from dev: web-r1 was promoted in dev 20s ago and soaks for "
        "1m00s: 40s left"
    )
    assert w.ws.store.rollouts.list(environment="staging") == []
    assert agent.calls == [("start_revision", "web"), ("set_weights", "web")]  # the setup only
    clock.advance(41)
    view = ops.deploy("web", environment="staging", actor="alice")
    assert (view["environment"], view["to_release"]) == ("staging", "web-r1")
    assert [e.type for e in w.ws.store.events.list() if "promotion" in e.type] == []


def test_force_is_audited_only_when_the_deploy_goes_ahead(
    wired: tuple[Wiring, VirtualClock, FakeAgent],
) -> None:
    w, _, _ = wired
    with pytest.raises(OperationError, match="needs a reason"):
        w.deployments.deploy(
            "web", environment="staging", release="web-r2", actor="alice", override_promotion=" "
        )
    view = w.deployments.deploy(
        "web", environment="staging", release="web-r2", actor="alice", override_promotion="fix"
    )
    assert view["to_release"] == "web-r2"
    (event,) = w.ws.store.events.list("dev.roost.promotion.forced")
    assert event.actor == "alice"
    assert event.data["reason"] == "fix"
    assert event.data["refused"].endswith("web-r2 never ran in dev; dev runs web-r1")
