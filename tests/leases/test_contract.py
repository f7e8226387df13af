"""The lease backend contract: every backend (SQLite, PostgreSQL, etcd, Kubernetes fake) must
pass every test here (see conftest.py for how each is set up)."""

from __future__ import annotations

import math
import threading

import pytest

from roost.clock import VirtualClock
from roost.leases import LeaseBackend, LeaseLost, NotHolder


def test_acquire_a_free_lease(backend: LeaseBackend, clock: VirtualClock) -> None:
    lease = backend.acquire("leader", "alice", duration_seconds=10)
    assert lease is not None
    assert lease.name == "leader"
    assert lease.holder == "alice"
    assert lease.duration_seconds == 10.0
    assert lease.acquired_at == lease.renewed_at == clock.now()
    assert lease.transitions == 0
    assert lease.fencing_token > 0
    assert lease.fence().token == lease.fencing_token
    assert lease.fence().lease_name == "leader"
    assert backend.get("leader") == lease
    assert backend.list() == [lease]
    assert backend.get("nobody") is None


def test_a_held_lease_is_not_taken_without_the_watched_version(backend: LeaseBackend) -> None:
    lease = backend.acquire("leader", "alice", duration_seconds=10)
    assert lease is not None
    assert backend.acquire("leader", "bob", duration_seconds=10) is None
    wrong = lease.version + "0"
    assert backend.acquire("leader", "bob", duration_seconds=10, expected_version=wrong) is None
    assert backend.get("leader") == lease


def test_reacquiring_and_renewing_keep_the_tenure(
    backend: LeaseBackend, clock: VirtualClock
) -> None:
    first = backend.acquire("leader", "alice", duration_seconds=10, reason="first")
    assert first is not None
    clock.advance(3)
    again = backend.acquire("leader", "alice", duration_seconds=20)
    assert again is not None
    assert (again.fencing_token, again.transitions, again.acquired_at) == (
        first.fencing_token,
        0,
        first.acquired_at,
    )
    assert again.duration_seconds == 20.0
    assert again.renewed_at == clock.now()
    assert again.reason == "first"  # kept unless a new one is given
    assert again.version != first.version
    clock.advance(3)
    renewed = backend.renew("leader", "alice")
    assert renewed.fencing_token == first.fencing_token
    assert renewed.renewed_at == clock.now()
    assert renewed.duration_seconds == 20.0
    assert renewed.version not in (first.version, again.version)
    assert backend.get("leader") == renewed
    shorter = backend.renew("leader", "alice", duration_seconds=5)
    assert shorter.duration_seconds == 5.0
    assert shorter.fencing_token == first.fencing_token


def test_renewing_a_lease_one_does_not_hold_is_lost(backend: LeaseBackend) -> None:
    with pytest.raises(LeaseLost, match=r"no longer exists|not held|lost"):
        backend.renew("leader", "alice")
    backend.acquire("leader", "alice", duration_seconds=10)
    with pytest.raises(LeaseLost, match="'alice'") as caught:
        backend.renew("leader", "bob")
    assert caught.value.hint
    backend.release("leader", "alice")
    with pytest.raises(LeaseLost, match="released"):
        backend.renew("leader", "alice")


def test_release(backend: LeaseBackend) -> None:
    assert backend.release("leader", "alice") is None  # nothing to release
    lease = backend.acquire("leader", "alice", duration_seconds=10, reason="deploying")
    assert lease is not None
    with pytest.raises(NotHolder, match="held by 'alice'") as caught:
        backend.release("leader", "bob")
    assert "roost lock release" in caught.value.hint
    released = backend.release("leader", "alice")
    assert released is not None
    assert released.holder is None
    assert not released.held
    assert released.reason is None
    assert released.fencing_token == lease.fencing_token
    assert backend.get("leader") == released
    assert backend.release("leader", "alice") == released  # a no-op when free
    assert backend.release("leader", "bob") == released


def test_every_change_of_holder_is_a_new_tenure(backend: LeaseBackend) -> None:
    alice = backend.acquire("leader", "alice", duration_seconds=10)
    assert alice is not None
    backend.release("leader", "alice")
    bob = backend.acquire("leader", "bob", duration_seconds=10)
    assert bob is not None
    assert bob.fencing_token > alice.fencing_token
    assert bob.transitions == 1
    backend.release("leader", "bob")
    bob_again = backend.acquire("leader", "bob", duration_seconds=10)
    assert bob_again is not None
    assert bob_again.fencing_token > bob.fencing_token  # re-acquiring after a release, too
    assert bob_again.transitions == 2


def test_takeover_needs_the_exact_version_watched(
    backend: LeaseBackend, clock: VirtualClock
) -> None:
    watched = backend.acquire("leader", "alice", duration_seconds=10)
    assert watched is not None
    clock.advance(5)
    renewed = backend.renew("leader", "alice")  # alice renewed after bob started watching
    assert (
        backend.acquire("leader", "bob", duration_seconds=10, expected_version=watched.version)
        is None
    )
    taken = backend.acquire("leader", "bob", duration_seconds=7, expected_version=renewed.version)
    assert taken is not None
    assert taken.holder == "bob"
    assert taken.fencing_token > renewed.fencing_token
    assert taken.transitions == 1
    assert taken.acquired_at == clock.now()
    assert taken.duration_seconds == 7.0
    with pytest.raises(LeaseLost, match="'bob'"):
        backend.renew("leader", "alice")


def test_delete_frees_the_lease_and_tokens_keep_growing(backend: LeaseBackend) -> None:
    tokens = []
    for holder in ["a", "b", "a"]:
        lease = backend.acquire("leader", holder, duration_seconds=10)
        assert lease is not None
        tokens.append(lease.fencing_token)
        backend.release("leader", holder)
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 3
    assert backend.delete("leader") is True
    assert backend.delete("leader") is False
    assert backend.get("leader") is None
    assert backend.list() == []
    recreated = backend.acquire("leader", "c", duration_seconds=10)
    assert recreated is not None
    assert recreated.fencing_token > tokens[-1]
    assert recreated.transitions == 0
    backend.delete("leader")
    with pytest.raises(LeaseLost):
        backend.renew("leader", "c")


def test_list_is_sorted_and_names_may_have_slashes(backend: LeaseBackend) -> None:
    for name in ["lock/deploy/web/prod", "node/host-1", "Control Plane"]:
        backend.acquire(name, "x", duration_seconds=30, reason=f"why {name}")
    leases = backend.list()
    assert [lease.name for lease in leases] == [
        "Control Plane",
        "lock/deploy/web/prod",
        "node/host-1",
    ]
    assert [lease.reason for lease in leases] == [f"why {lease.name}" for lease in leases]
    lease = backend.get("lock/deploy/web/prod")
    assert lease is not None
    assert lease.holder == "x"


def test_only_one_contender_wins(backend: LeaseBackend) -> None:
    winners: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def contend(name: str) -> None:
        try:
            barrier.wait()
            if backend.acquire("race", name, duration_seconds=30) is not None:
                winners.append(name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(f"p{n}",)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(winners) == 1
    lease = backend.get("race")
    assert lease is not None
    assert lease.holder == winners[0]


def test_only_one_of_two_takeovers_of_the_same_version_wins(backend: LeaseBackend) -> None:
    watched = backend.acquire("leader", "dead", duration_seconds=10)
    assert watched is not None
    results = [
        backend.acquire("leader", name, duration_seconds=10, expected_version=watched.version)
        for name in ("p1", "p2")
    ]
    assert results[0] is not None
    assert results[1] is None


@pytest.mark.parametrize("duration", [0, -1, math.nan, math.inf, True])
def test_bad_durations_are_refused(backend: LeaseBackend, duration: float) -> None:
    with pytest.raises(ValueError, match="duration_seconds"):
        backend.acquire("leader", "alice", duration_seconds=duration)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "a\nb"])
def test_bad_names_are_refused(backend: LeaseBackend, name: str) -> None:
    with pytest.raises(ValueError, match="lease name"):
        backend.acquire(name, "alice", duration_seconds=1)
    with pytest.raises(ValueError, match="lease holder"):
        backend.acquire("leader", name, duration_seconds=1)
