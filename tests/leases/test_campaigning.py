"""The election runner on a virtual clock against a real SQLite store, and briefly on real
threads."""

from __future__ import annotations

import math
import time

import pytest

from roost.clock import VirtualClock
from roost.leases import (
    BackendUnavailable,
    ElectionConfig,
    Fence,
    LeaderElector,
    Lease,
    LeaseBackend,
    SqlLeaseBackend,
)
from roost.store import StaleFencingToken, Store

TIMINGS = {"lease_duration": 15.0, "renew_deadline": 10.0, "retry_period": 2.0, "jitter": 0.2}


class Recorder:
    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock or VirtualClock()
        self.events: list[str] = []
        self.fences: list[Fence] = []
        self.started_at: list[float] = []

    def started(self, fence: Fence) -> None:
        self.events.append("started")
        self.fences.append(fence)
        self.started_at.append(self.clock.monotonic())

    def stopped(self) -> None:
        self.events.append("stopped")


def elector(
    backend: LeaseBackend, identity: str, clock: VirtualClock, recorder: Recorder, **extra: object
) -> LeaderElector:
    config = ElectionConfig("leader", identity, **{**TIMINGS, **extra})  # type: ignore[arg-type]
    return LeaderElector(
        backend,
        config,
        clock=clock,
        on_started_leading=recorder.started,
        on_stopped_leading=recorder.stopped,
    )


def run(clock: VirtualClock, seconds: float, *electors: LeaderElector) -> None:
    """Let ``electors`` run for ``seconds`` of virtual time (others stay frozen)."""
    end = clock.monotonic() + seconds
    while True:
        waits = []
        for each in electors:
            wait = each.step()
            while wait == 0:
                wait = each.step()
            waits.append(wait)
        step = min([*waits, end - clock.monotonic()])
        if step <= 0:
            return
        clock.advance(step)


def test_one_leads_and_a_frozen_leader_is_fenced_off(store: Store, clock: VirtualClock) -> None:
    backend = SqlLeaseBackend(store)
    a_log, b_log = Recorder(clock), Recorder(clock)
    a = elector(backend, "a", clock, a_log)
    b = elector(backend, "b", clock, b_log)
    run(clock, 1, a)
    run(clock, 120, a, b)
    assert a.is_leader
    assert not b.is_leader
    assert b.leader == "a"
    assert a_log.events == ["started"]
    assert b_log.events == []
    fence = a.fence
    assert fence == a_log.fences[0]
    store.events.append("test.write", source="/t", fence=fence)

    frozen_at = clock.monotonic()
    run(clock, 30, b)  # a is frozen (SIGSTOP, GC pause): it neither renews nor notices
    assert b.is_leader
    took_over = b_log.started_at[0] - frozen_at
    # One lease duration after b last saw a renewal; a renewed every retry period (2 s) and
    # b polls every retry period plus up to 20 % jitter.
    assert 15.0 - 2.0 <= took_over <= 15.0 + 2.0 * 1.2
    assert a.is_leader  # a still believes it leads...
    with pytest.raises(StaleFencingToken):  # ...but its writes are refused
        store.events.append("test.stale", source="/t", fence=fence)
    store.events.append("test.write", source="/t", fence=b.fence)

    run(clock, 5, a, b)  # a wakes up: its monotonic clock jumped past the renew deadline
    assert not a.is_leader
    assert a.fence is None
    assert a_log.events == ["started", "stopped"]
    assert b.is_leader
    assert [e.type for e in store.events.list()] == ["test.write", "test.write"]


def test_a_clean_stop_hands_over_at_once(store: Store, clock: VirtualClock) -> None:
    backend = SqlLeaseBackend(store)
    a_log, b_log = Recorder(clock), Recorder(clock)
    a = elector(backend, "a", clock, a_log)
    b = elector(backend, "b", clock, b_log)
    run(clock, 1, a)
    run(clock, 10, a, b)
    a.stop()
    assert a_log.events == ["started", "stopped"]
    lease = store.leases.get("leader")
    assert lease is not None
    assert lease.holder is None
    before = clock.monotonic()
    run(clock, 5, b)
    assert b.is_leader
    assert b_log.started_at[0] - before <= 2.0 * 1.2  # next poll, not a lease duration
    assert a.step() == math.inf  # stopped for good
    a.stop()  # idempotent
    assert a_log.events == ["started", "stopped"]


class Flaky:
    """A backend that fails while ``down`` is set."""

    def __init__(self, backend: LeaseBackend) -> None:
        self.backend = backend
        self.kind = backend.kind
        self.down = False
        self.calls = 0

    def __getattr__(self, name: str) -> object:
        method = getattr(self.backend, name)

        def call(*args: object, **kwargs: object) -> object:
            self.calls += 1
            if self.down:
                raise BackendUnavailable("database unreachable (test)")
            return method(*args, **kwargs)

        return call


def test_an_unreachable_backend_never_crashes_the_election(
    store: Store, clock: VirtualClock
) -> None:
    flaky = Flaky(SqlLeaseBackend(store))
    log = Recorder(clock)
    a = elector(flaky, "a", clock, log)  # type: ignore[arg-type]
    flaky.down = True
    run(clock, 30, a)  # followers retry every retry period without crashing
    assert not a.is_leader
    assert 10 <= flaky.calls <= 16
    flaky.down = False
    run(clock, 3, a)
    assert a.is_leader
    flaky.down = True  # the leader keeps trying until its renew deadline, then steps down
    start = clock.monotonic()
    run(clock, 30, a)
    assert not a.is_leader
    assert log.events == ["started", "stopped"]
    assert log.events == ["started", "stopped"]
    assert clock.monotonic() - start == 30


def test_prepare_can_refuse_leadership(store: Store, clock: VirtualClock) -> None:
    backend = SqlLeaseBackend(store)
    log = Recorder()
    refusals: list[str] = []

    def prepare(lease: Lease) -> None:
        refusals.append(lease.holder or "")
        raise StaleFencingToken("the store knows a newer tenure")

    a = LeaderElector(
        backend,
        ElectionConfig("leader", "a", **TIMINGS),  # type: ignore[arg-type]
        clock=clock,
        on_started_leading=log.started,
        prepare=prepare,
    )
    run(clock, 5, a)
    assert not a.is_leader
    assert log.events == []
    assert len(refusals) >= 2
    lease = store.leases.get("leader")
    assert lease is not None
    assert lease.holder is None  # released again after every refusal


def test_a_failing_callback_does_not_stop_the_election(store: Store, clock: VirtualClock) -> None:
    def explode(fence: Fence) -> None:
        raise RuntimeError("application bug")

    a = LeaderElector(
        SqlLeaseBackend(store),
        ElectionConfig("leader", "a", **TIMINGS),  # type: ignore[arg-type]
        clock=clock,
        on_started_leading=explode,
    )
    run(clock, 10, a)
    assert a.is_leader
    assert "role=leader" in repr(a)


def test_real_threads_elect_and_hand_over(store: Store) -> None:
    backend = SqlLeaseBackend(store)
    timings = {"lease_duration": 0.6, "renew_deadline": 0.4, "retry_period": 0.05}
    a = LeaderElector(backend, ElectionConfig("leader", "a", **timings))  # type: ignore[arg-type]
    b = LeaderElector(backend, ElectionConfig("leader", "b", **timings))  # type: ignore[arg-type]
    a.start()
    assert a.wait_for_leadership(5)
    b.start()
    time.sleep(0.3)
    assert not b.is_leader
    a.stop()
    assert b.wait_for_leadership(2)
    b.stop()
    lease = store.leases.get("leader")
    assert lease is not None
    assert lease.holder is None
    with pytest.raises(RuntimeError, match="already been started"):
        b.start()
