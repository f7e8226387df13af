"""The leader's periodic duties (what runs roost.yaml's schedules): ticked only while this
process leads, told of each new tenure once with its fence, and stopped the moment it steps
down — on two real gates sharing one store, with a clean hand-over from a to b."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roost.control.dataplane.fake import FakeAgent
from roost.control.leadership.duties import GateLeader, LeaderDuties
from roost.control.leadership.leading import LeadershipGate, open_gate
from roost.control.wiring import wire
from roost.control.workspace import Workspace, open_workspace
from roost.store import Fence

PROJECT = """\
project: periodic
version: 1
environments:
  dev: {}
services: []
"""


class Spy:
    """A periodic duty that records what it was asked."""

    def __init__(self) -> None:
        self.offices: list[Fence] = []
        self.ticks: list[Fence] = []
        self.lock = threading.Lock()

    def take_office(self, fence: Fence) -> None:
        with self.lock:
            self.offices.append(fence)

    def tick(self, fence: Fence) -> None:
        with self.lock:
            self.ticks.append(fence)


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    with open_workspace(tmp_path) as opened:
        yield opened


def _duties(ws: Workspace, gate: LeadershipGate, spy: Spy) -> LeaderDuties:
    agent = FakeAgent()
    wiring = wire(ws, leader=GateLeader(gate), connect=lambda: agent)
    return LeaderDuties(
        gate, plane=wiring.plane, executor=wiring.executor, periodic=[spy], say=lambda _: None
    )


def test_periodic_duties_tick_only_on_the_leader_and_follow_the_lease(ws: Workspace) -> None:
    timings = {
        "ROOST_LEASE_DURATION": "60",
        "ROOST_LEASE_RENEW_DEADLINE": "40",
        "ROOST_LEASE_RETRY_PERIOD": "0.05",
    }
    a = open_gate(ws.store, identity="a", environ=timings)
    b = open_gate(ws.store, identity="b", environ=timings)
    spy_a, spy_b = Spy(), Spy()
    duties_a = _duties(ws, a, spy_a).start()
    duties_b = _duties(ws, b, spy_b).start()
    try:
        with a:
            assert a.wait_for_leadership(5)
            with b:
                _wait(lambda: len(spy_a.ticks) >= 2)
                assert spy_b.ticks == []  # a follower's duties never tick
                fence_a = a.fence
                assert spy_a.offices == [fence_a]  # once per tenure
                assert set(spy_a.ticks) == {fence_a}
                duties_a.stop()
                a.stop()  # a clean hand-over: b leads at once
                assert b.wait_for_leadership(10)
                count_a = len(spy_a.ticks)
                _wait(lambda: len(spy_b.ticks) >= 2)
                assert len(spy_a.ticks) == count_a  # a stopped ticking when it stepped down
                assert b.fence is not None
                assert fence_a is not None
                assert b.fence.token > fence_a.token
                assert spy_b.offices == [b.fence]
                assert set(spy_b.ticks) == {b.fence}
    finally:
        duties_a.stop()
        duties_b.stop()
