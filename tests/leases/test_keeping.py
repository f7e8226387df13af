"""LeaseKeeper: background renewal for locks and an agent's node lease."""

from __future__ import annotations

import threading
import time

import pytest

from roost.clock import RealClock
from roost.leases import BackendUnavailable, LeaseError, LeaseKeeper, Observer, SqlLeaseBackend
from roost.store import Store


def test_a_node_lease_is_kept_and_judged_by_the_control_plane(store: Store) -> None:
    backend = SqlLeaseBackend(store)
    lease = backend.acquire("node/host-1", "agent-1", duration_seconds=1.2)
    assert lease is not None
    keeper = LeaseKeeper(backend, lease)  # renews every 0.4 s
    keeper.start()
    observer = Observer(RealClock())  # the control plane watching node leases
    for _ in range(8):
        observer.see("node/host-1", backend.get("node/host-1"))
        assert not observer.expired("node/host-1")
        time.sleep(0.1)
    keeper.stop(release=False)  # the agent dies without a word
    deadline = time.monotonic() + 5
    while not observer.expired("node/host-1"):  # NotReady after one unrenewed duration
        observer.see("node/host-1", backend.get("node/host-1"))
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert keeper.lost is None
    assert "stopped" in repr(keeper)


def test_a_deleted_lease_is_reported_lost(store: Store) -> None:
    backend = SqlLeaseBackend(store)
    lease = backend.acquire("node/host-1", "agent-1", duration_seconds=0.3)
    assert lease is not None
    lost = threading.Event()
    errors: list[LeaseError] = []

    def on_lost(error: LeaseError) -> None:
        errors.append(error)
        lost.set()

    keeper = LeaseKeeper(backend, lease, on_lost=on_lost)
    keeper.start()
    backend.delete("node/host-1")
    assert lost.wait(2)
    assert "no lease" in str(errors[0])
    keeper.stop()  # nothing to release
    assert backend.get("node/host-1") is None
    assert "lost" in repr(keeper)


class Down:
    kind = "down"

    def renew(self, *args: object, **kwargs: object) -> object:
        raise BackendUnavailable("gone")

    def release(self, *args: object, **kwargs: object) -> object:
        raise BackendUnavailable("gone")


def test_a_backend_down_for_a_whole_duration_loses_the_lease(store: Store) -> None:
    lease = SqlLeaseBackend(store).acquire("node/h", "agent", duration_seconds=0.3)
    assert lease is not None
    lost = threading.Event()
    keeper = LeaseKeeper(Down(), lease, on_lost=lambda error: lost.set())  # type: ignore[arg-type]
    keeper.start()
    assert lost.wait(2)
    keeper.stop()


def test_keeper_arguments_are_checked(store: Store) -> None:
    backend = SqlLeaseBackend(store)
    lease = backend.acquire("l", "a", duration_seconds=1)
    assert lease is not None
    with pytest.raises(ValueError, match="shorter than the lease duration"):
        LeaseKeeper(backend, lease, interval=1)
    released = backend.release("l", "a")
    assert released is not None
    with pytest.raises(ValueError, match="not held"):
        LeaseKeeper(backend, released)
