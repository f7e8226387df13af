from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.store import Conflict, NotFound, Store


def test_acquire_renew_release(store: Store, clock: VirtualClock) -> None:
    lease = store.leases.try_acquire("deploy/web", "alice", duration_seconds=30)
    assert lease is not None
    assert (lease.holder, lease.fencing_token, lease.transitions) == ("alice", 1, 0)
    assert lease.acquired_at == lease.renewed_at == clock.now()
    assert lease.expires_at == clock.now() + timedelta(seconds=30)
    assert store.leases.try_acquire("deploy/web", "bob", duration_seconds=30) is None

    clock.advance(20)
    renewed = store.leases.renew("deploy/web", "alice")
    assert renewed.renewed_at == clock.now()
    assert renewed.acquired_at == lease.acquired_at
    assert renewed.fencing_token == lease.fencing_token
    assert renewed.version > lease.version
    clock.advance(20)  # 40 s after acquiring, 20 s after renewing: still alice's
    assert store.leases.try_acquire("deploy/web", "bob", duration_seconds=30) is None

    released = store.leases.release("deploy/web", "alice")
    assert released.holder is None
    assert not released.held
    assert store.leases.release("deploy/web", "alice") == released  # no-op when free
    taken = store.leases.try_acquire("deploy/web", "bob", duration_seconds=30)
    assert taken is not None
    assert (taken.holder, taken.fencing_token, taken.transitions) == ("bob", 2, 1)
    assert store.leases.get("deploy/web") == taken
    assert store.leases.list() == [taken]


def test_reacquiring_a_held_lease_keeps_the_token(store: Store, clock: VirtualClock) -> None:
    first = store.leases.try_acquire("l", "alice", duration_seconds=10)
    clock.advance(5)
    again = store.leases.try_acquire("l", "alice", duration_seconds=20)
    assert first is not None
    assert again is not None
    assert again.fencing_token == first.fencing_token
    assert again.duration_seconds == 20.0
    assert again.renewed_at == clock.now()
    assert again.transitions == 0


def test_expired_lease_can_be_taken_over(store: Store, clock: VirtualClock) -> None:
    store.leases.try_acquire("l", "alice", duration_seconds=10)
    clock.advance(9.999)
    assert store.leases.try_acquire("l", "bob", duration_seconds=10) is None
    clock.advance(0.001)
    taken = store.leases.try_acquire("l", "bob", duration_seconds=10)
    assert taken is not None
    assert taken.holder == "bob"
    with pytest.raises(Conflict, match="held by 'bob', not 'alice'"):
        store.leases.renew("l", "alice")
    with pytest.raises(Conflict, match="held by 'bob'"):
        store.leases.release("l", "alice")


def test_expired_but_untaken_lease_can_still_be_renewed(store: Store, clock: VirtualClock) -> None:
    lease = store.leases.try_acquire("l", "alice", duration_seconds=10)
    clock.advance(60)
    renewed = store.leases.renew("l", "alice", duration_seconds=15)
    assert lease is not None
    assert renewed.fencing_token == lease.fencing_token
    assert renewed.duration_seconds == 15.0


def test_fencing_token_grows_with_every_holder_change_and_survives_delete(
    store: Store, clock: VirtualClock
) -> None:
    tokens = []
    for holder in ["a", "b", "a", "c"]:
        clock.advance(11)
        lease = store.leases.try_acquire("leader", holder, duration_seconds=10)
        assert lease is not None
        tokens.append(lease.fencing_token)
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 4
    assert store.leases.delete("leader") is True
    assert store.leases.delete("leader") is False
    assert store.leases.get("leader") is None
    recreated = store.leases.try_acquire("leader", "a", duration_seconds=10)
    assert recreated is not None
    assert recreated.fencing_token > tokens[-1]
    assert recreated.transitions == 0
    # Tokens are per lease name: another lease starts its own count.
    other = store.leases.try_acquire("other", "a", duration_seconds=10)
    assert other is not None
    assert other.fencing_token == 1


def test_only_one_contender_wins_a_race(store: Store) -> None:
    winners: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def contender(name: str) -> None:
        try:
            barrier.wait()
            if store.leases.try_acquire("race", name, duration_seconds=30) is not None:
                winners.append(name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=contender, args=(f"p{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(winners) == 1
    lease = store.leases.get("race")
    assert lease is not None
    assert lease.holder == winners[0]
    assert lease.fencing_token == 1


def test_lease_errors(store: Store) -> None:
    with pytest.raises(NotFound):
        store.leases.renew("nope", "a")
    with pytest.raises(NotFound):
        store.leases.release("nope", "a")
    with pytest.raises(ValueError, match="duration_seconds"):
        store.leases.try_acquire("l", "a", duration_seconds=0)
    store.leases.try_acquire("l", "a", duration_seconds=1)
    store.leases.release("l", "a")
    with pytest.raises(Conflict, match="released"):
        store.leases.renew("l", "a")
