"""Deploy locks: holder, reason, expiry when the holder dies, audited forced release."""

from __future__ import annotations

import time

import pytest

from roost.clock import VirtualClock
from roost.leases import (
    LeaseBackend,
    LeaseLost,
    Lock,
    LockBusy,
    Locks,
    NotHolder,
    NotLocked,
    SqlLeaseBackend,
)
from roost.store import StaleFencingToken, Store


@pytest.fixture
def locks(store: Store, clock: VirtualClock) -> Locks:
    return Locks(SqlLeaseBackend(store), events=store.events, clock=clock)


def test_a_lock_has_a_holder_a_reason_and_an_expiry(
    locks: Locks, store: Store, clock: VirtualClock
) -> None:
    lock = locks.acquire("deploy/web/prod", "ci-42", reason="release web-r7", duration_seconds=60)
    assert lock is not None
    assert (lock.name, lock.holder, lock.reason) == ("deploy/web/prod", "ci-42", "release web-r7")
    assert (lock.expires_at - lock.renewed_at).total_seconds() == 60
    assert locks.list() == [lock]
    assert locks.get("deploy/web/prod") == lock
    assert locks.acquire("deploy/web/prod", "alice", reason="hotfix", duration_seconds=60) is None
    store.events.append("deploy.step", source="/t", fence=lock.fence)
    clock.advance(10)
    renewed = locks.renew("deploy/web/prod", "ci-42")
    assert renewed.renewed_at == clock.now()
    [event] = store.events.list("dev.roost.lock.acquired")
    assert event.actor == "ci-42"
    assert event.subject == "deploy/web/prod"
    assert event.data["reason"] == "release web-r7"
    assert event.data["holder"] == "ci-42"


def test_the_holder_releases_and_others_may_not(locks: Locks, store: Store) -> None:
    locks.acquire("deploy/web/prod", "ci-42", reason="r", duration_seconds=60)
    with pytest.raises(NotHolder, match="held by 'ci-42'") as caught:
        locks.release("deploy/web/prod", "alice")
    assert "roost lock release" in caught.value.hint
    locks.release("deploy/web/prod", "ci-42")
    assert locks.list() == []
    assert locks.get("deploy/web/prod") is None
    locks.release("deploy/web/prod", "ci-42")  # no-op, not audited twice
    [event] = store.events.list("dev.roost.lock.released")
    assert event.actor == "ci-42"
    assert event.data["forced"] is False


def test_breaking_someone_elses_lock_is_explicit_and_audited(locks: Locks, store: Store) -> None:
    lock = locks.acquire("deploy/web/prod", "ci-42", reason="stuck deploy", duration_seconds=600)
    assert lock is not None
    with pytest.raises(ValueError, match="needs a reason"):
        locks.force_release("deploy/web/prod", actor="alice", reason=" ")
    broken = locks.force_release("deploy/web/prod", actor="alice", reason="ci-42 is gone")
    assert broken == lock
    assert locks.get("deploy/web/prod") is None
    with pytest.raises(StaleFencingToken):  # the old holder can no longer act under it
        store.events.append("deploy.step", source="/t", fence=lock.fence)
    [event] = store.events.list("dev.roost.lock.released")
    assert event.actor == "alice"
    assert event.data == {
        "lock": "deploy/web/prod",
        "holder": "ci-42",
        "reason": "ci-42 is gone",
        "fencing_token": lock.fencing_token,
        "backend": "sql",
        "forced": True,
    }
    with pytest.raises(NotLocked, match="not held"):
        locks.force_release("deploy/web/prod", actor="alice", reason="again")
    with pytest.raises(LeaseLost):
        locks.renew("deploy/web/prod", "ci-42")


def test_a_dead_holders_lock_expires_on_the_waiters_clock(
    locks: Locks, clock: VirtualClock
) -> None:
    locks.acquire("deploy/web/prod", "dead", reason="crashed", duration_seconds=30)
    start = clock.monotonic()
    assert (
        locks.acquire("deploy/web/prod", "next", reason="r", duration_seconds=30, wait=10) is None
    )
    assert clock.monotonic() - start == 10  # waited (virtually) and gave up
    lock = locks.acquire("deploy/web/prod", "next", reason="r", duration_seconds=30, wait=60)
    assert lock is not None
    assert lock.holder == "next"
    # It watched for a full duration from its own first look: the dead holder's timestamps,
    # whatever clock wrote them, played no part.
    assert clock.monotonic() - start == pytest.approx(10 + 30, abs=0.6)


def test_locks_live_on_every_backend(backend: LeaseBackend, store: Store) -> None:
    locks = Locks(backend, events=store.events)
    lock = locks.acquire("deploy/api", "ci", reason="deploying api-r3", duration_seconds=30)
    assert lock is not None
    assert [(each.name, each.reason) for each in locks.list()] == [
        ("deploy/api", "deploying api-r3")
    ]
    backend.acquire("node/a", "agent", duration_seconds=30)  # not a lock: not listed
    assert len(locks.list()) == 1
    locks.force_release("deploy/api", actor="ops", reason="test")
    assert locks.list() == []
    assert [e.data["backend"] for e in store.events.list("dev.roost.lock")] == [
        backend.kind,
        backend.kind,
    ]


def test_holding_renews_in_the_background(store: Store) -> None:
    locks = Locks(SqlLeaseBackend(store), events=store.events)
    with locks.holding("deploy/web", "ci", reason="r", duration_seconds=0.6) as lock:
        assert isinstance(lock, Lock)
        first = store.leases.get("lock/deploy/web")
        time.sleep(0.5)
        later = store.leases.get("lock/deploy/web")
        assert first is not None
        assert later is not None
        assert later.version > first.version  # renewed every 0.2 s
        with (
            pytest.raises(LockBusy, match="held by 'ci' \\(r\\)") as caught,
            locks.holding("deploy/web", "other", reason="x"),
        ):
            pass
        assert caught.value.hint
    assert locks.get("deploy/web") is None


def test_lock_names_are_checked(locks: Locks) -> None:
    with pytest.raises(ValueError, match="lock name"):
        locks.acquire("", "ci", reason="r", duration_seconds=1)
