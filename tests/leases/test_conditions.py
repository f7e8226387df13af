"""Agent conditions from heartbeats: pure decisions on a virtual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.leases.conditions import (
    NOT_READY,
    NOT_READY_EVENT,
    READY,
    READY_EVENT,
    AgentCondition,
    Heartbeat,
    grace_seconds,
    judge,
    judge_once,
)

GRACE = 15.0


class Agent:
    """An agent's node lease as the control plane reads it."""

    def __init__(self, clock: VirtualClock, node: str = "web-1") -> None:
        self.clock = clock
        self.node = node
        self.beat = Heartbeat(node, f"{node}:100", clock.now(), 1)

    def renew(self) -> None:
        self.beat = Heartbeat(
            self.node, self.beat.holder, self.clock.now(), self.beat.fencing_token
        )

    def release(self) -> None:
        self.beat = Heartbeat(self.node, None, self.clock.now(), self.beat.fencing_token)


def _look(
    clock: VirtualClock, known: dict[str, AgentCondition], *beats: Heartbeat
) -> tuple[dict[str, AgentCondition], list[AgentCondition]]:
    return judge(known, beats, monotonic=clock.monotonic(), now=clock.now(), grace=GRACE)


def test_a_silent_agent_is_not_ready_after_its_grace_and_ready_again_when_it_renews() -> None:
    clock = VirtualClock()
    agent = Agent(clock)
    known, changed = _look(clock, {}, agent.beat)
    assert known["web-1"].status == READY
    assert changed == []  # a first sighting is not a transition
    for _ in range(10):  # renewing every 5 s: never NotReady
        clock.advance(5)
        agent.renew()
        known, changed = _look(clock, known, agent.beat)
        assert changed == []
    died = clock.now()
    clock.advance(14.9)
    known, changed = _look(clock, known, agent.beat)
    assert changed == []
    assert known["web-1"].ready
    clock.advance(0.1)
    known, changed = _look(clock, known, agent.beat)
    (down,) = changed
    assert down.status == NOT_READY
    assert down.event_type == NOT_READY_EVENT
    assert down.since == clock.now()
    assert down.last_heartbeat == died
    assert "no heartbeat for 15s (grace 15s)" in down.reason
    line = down.describe()
    assert line.startswith("agent web-1 NotReady since 2")
    assert f"last heartbeat {died:%Y-%m-%d %H:%M:%S} UTC" in line
    # Reported once, not on every look.
    clock.advance(30)
    known, changed = _look(clock, known, agent.beat)
    assert changed == []
    assert known["web-1"].since == down.since
    # Back: one transition to Ready.
    agent.renew()
    known, changed = _look(clock, known, agent.beat)
    (up,) = changed
    assert up.status == READY
    assert up.event_type == READY_EVENT


def test_expiry_is_judged_on_the_observers_clock_not_the_agents_timestamps() -> None:
    clock = VirtualClock()
    # An agent whose clock is an hour behind writes old-looking renewals; it is alive.
    skewed = Heartbeat("web-2", "web-2:7", clock.now() - timedelta(hours=1), 4)
    known, _ = _look(clock, {}, skewed)
    for _ in range(6):
        clock.advance(5)
        skewed = Heartbeat("web-2", "web-2:7", skewed.renewed_at + timedelta(seconds=5), 4)
        known, changed = _look(clock, known, skewed)
        assert changed == []
        assert known["web-2"].ready


def test_a_released_or_deleted_lease_is_not_ready_at_once() -> None:
    clock = VirtualClock()
    a, b = Agent(clock, "a"), Agent(clock, "b")
    known, _ = _look(clock, {}, a.beat, b.beat)
    clock.advance(1)
    a.release()
    known, changed = _look(clock, known, a.beat)  # b's lease is gone
    assert [(c.node, c.status) for c in changed] == [("a", NOT_READY), ("b", NOT_READY)]
    assert "released" in changed[0].reason
    assert "deleted" in changed[1].reason
    # A restarted agent (new holder, new token) is Ready again.
    a.beat = Heartbeat("a", "a:200", clock.now(), 2)
    known, changed = _look(clock, known, a.beat)
    assert [(c.node, c.status) for c in changed] == [("a", READY)]


def test_an_agent_first_seen_released_is_not_ready_without_an_event() -> None:
    clock = VirtualClock()
    agent = Agent(clock)
    agent.release()
    known, changed = _look(clock, {}, agent.beat)
    assert changed == []
    assert known["web-1"].status == NOT_READY


def test_judge_once_uses_the_lease_timestamps() -> None:
    clock = VirtualClock()
    beat = Heartbeat("web-1", "web-1:1", clock.now(), 1)
    assert judge_once(beat, now=clock.now() + timedelta(seconds=14), grace=GRACE).ready
    late = judge_once(beat, now=clock.now() + timedelta(seconds=20), grace=GRACE)
    assert late.status == NOT_READY
    assert late.since == clock.now() + timedelta(seconds=GRACE)
    released = Heartbeat("web-1", None, clock.now(), 1)
    assert not judge_once(released, now=clock.now(), grace=GRACE).ready


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_a_grace_must_be_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        grace_seconds(bad)
    assert grace_seconds(None) == 15.0
    assert grace_seconds(2) == 2.0
