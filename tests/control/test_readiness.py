"""The control plane's agent watch on a real SQLite store and a virtual clock: NotReady after
the grace, one event per transition (recorded by the leader only), no new work meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from roost.clock import VirtualClock
from roost.control.dataplane.agents import AgentUnavailable
from roost.control.leadership.readiness import AgentNotReady, AgentWatch
from roost.store import Fence, Store, open_store


class Follower:
    leading = False

    @property
    def fence(self) -> Fence:
        raise AssertionError("a follower has no fence")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(None, root=tmp_path)


def _types(store: Store) -> list[str]:
    return [e.type for e in reversed(store.events.list("dev.roost.agent."))]


def test_a_silent_agent_gets_no_work_and_one_event_each_way(store: Store, tmp_path: Path) -> None:
    clock = VirtualClock()
    said: list[str] = []
    watch = AgentWatch(
        store, grace=15, prefix="agent-", local="agent-h1", say=said.append, clock=clock
    )
    assert store.leases.try_acquire("agent-h1", "h1:1", duration_seconds=15) is not None
    connect = watch.connector(tmp_path / ".roost" / "agent")
    assert watch.poll() == []
    clock.advance(14)
    assert watch.poll() == []
    clock.advance(1)
    (down,) = watch.poll()
    assert down.node == "h1"
    assert said == [down.describe()]
    with pytest.raises(AgentNotReady, match=r"agent h1 NotReady since .*, last heartbeat "):
        connect()
    clock.advance(10)
    assert watch.poll() == []  # once
    time.sleep(0.01)  # the store's own clock stamps the renewal
    assert store.leases.try_acquire("agent-h1", "h1:1", duration_seconds=15) is not None
    (up,) = watch.poll()
    assert up.ready
    with pytest.raises(AgentUnavailable) as refused:
        connect()  # no longer refused for readiness: it looks for the agent itself
    assert not isinstance(refused.value, AgentNotReady)
    assert _types(store) == ["dev.roost.agent.not_ready", "dev.roost.agent.ready"]
    assert "h1=Ready" in repr(watch)
    store.close()


def test_a_follower_watches_but_records_nothing(store: Store) -> None:
    clock = VirtualClock()
    watch = AgentWatch(store, grace=5, leader=Follower(), clock=clock)
    assert store.leases.try_acquire("agent-h2", "h2:1", duration_seconds=15) is not None
    watch.poll()
    clock.advance(5)
    (down,) = watch.poll()
    assert not down.ready
    assert watch.refusal() is None  # no local agent named: nothing to refuse
    assert _types(store) == []
    store.close()
