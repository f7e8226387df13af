"""Expiry on the observer's own clock (client-go's observedTime rule), with the holder's
timestamps deliberately skewed by hours: they must not matter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.leases import Lease, Observation, Observer, observe


def _lease(version: str, *, holder: str | None = "alice", skew_hours: float = 0) -> Lease:
    written = VirtualClock().now() + timedelta(hours=skew_hours)
    return Lease(
        name="leader",
        holder=holder,
        duration_seconds=10.0,
        acquired_at=written,
        renewed_at=written,
        transitions=0,
        fencing_token=1,
        version=version,
    )


@pytest.mark.parametrize("skew_hours", [-5, 0, 5])
def test_an_unrenewed_lease_expires_one_duration_after_it_was_first_seen(
    skew_hours: float,
) -> None:
    clock = VirtualClock()
    observer = Observer(clock)
    clock.advance(100)  # the observer's clock has no relation to the holder's timestamps
    first = observer.see("leader", _lease("7", skew_hours=skew_hours))
    assert first.observed_at == 100
    assert first.expires_at == 110
    for _ in range(9):
        clock.advance(1)
        seen = observer.see("leader", _lease("7", skew_hours=skew_hours))  # unchanged
        assert seen.observed_at == 100
        assert not observer.expired("leader")
    clock.advance(1)
    assert observer.expired("leader")
    assert observer.get("leader") == Observation(_lease("7", skew_hours=skew_hours), 100)


@pytest.mark.parametrize("skew_hours", [-5, 5])
def test_a_renewing_holder_never_expires_whatever_its_clock_says(skew_hours: float) -> None:
    clock = VirtualClock()
    observer = Observer(clock)
    for version in range(50):  # renewed every 4 s for 200 s; timestamps hours off
        observer.see("leader", _lease(str(version), skew_hours=skew_hours))
        assert not observer.expired("leader")
        clock.advance(4)


def test_any_change_restarts_the_observation() -> None:
    seen = observe(None, _lease("1"), 0.0)
    same = observe(seen, _lease("1"), 5.0)
    assert same.observed_at == 0.0
    other_holder = observe(same, _lease("1", holder="bob"), 6.0)
    assert other_holder.observed_at == 6.0
    new_version = observe(other_holder, _lease("2", holder="bob"), 7.0)
    assert new_version.observed_at == 7.0
    gone = observe(new_version, None, 8.0)
    assert gone.observed_at == 8.0
    still_gone = observe(gone, None, 9.0)
    assert still_gone.observed_at == 8.0


def test_free_leases_are_expired_at_once() -> None:
    assert observe(None, None, 0.0).expired(0.0)
    released = observe(None, _lease("3", holder=None), 0.0)
    assert released.free
    assert released.expired(0.0)
    assert released.expires_at is None
    assert released.remaining(0.0) == 0.0
    held = observe(None, _lease("3"), 0.0)
    assert not held.free
    assert held.remaining(4.0) == 6.0


def test_a_lease_never_seen_is_not_judged_expired() -> None:
    clock = VirtualClock()
    observer = Observer(clock)
    assert not observer.expired("leader")
    assert observer.get("leader") is None
    observer.see("leader", None)
    assert observer.expired("leader")
    observer.forget("leader")
    assert observer.get("leader") is None
    assert "0 leases" in repr(observer)
