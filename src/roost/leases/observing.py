"""When has a lease expired? On the observer's own clock, from when it last saw it change.

This is client-go's ``observedTime`` rule. A lease record carries the holder's timestamps, but
those come from the holder's wall clock, and comparing them with the observer's wall clock makes
every second of skew between the two hosts a second of error: a holder whose clock runs behind
looks expired while it is still renewing, one whose clock runs ahead looks alive long after it
died. Instead an observer notes, on its *own monotonic* clock, the moment it first saw the
record in its current state (version, holder, token). If the record stays in that state for
``duration_seconds`` of the observer's time, the holder has not renewed for at least that long,
whatever the clocks say. The observer then takes over with a compare-and-swap on the version it
watched, so a renewal that lands in between wins.

The price: an observer that starts watching a dead holder's lease waits a full duration before
taking it over (it cannot know how long ago the last renewal was). That is the safe side.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.clock import Clock
from roost.leases.records import Lease


@dataclass(frozen=True, slots=True)
class Observation:
    """A lease record as last seen, and when (observer's monotonic seconds) it was first seen
    in that state. ``lease`` None means there was no record."""

    lease: Lease | None
    observed_at: float

    @property
    def free(self) -> bool:
        """No record, or a released one: anyone may take it now."""
        return self.lease is None or self.lease.holder is None

    @property
    def expires_at(self) -> float | None:
        """Observer-monotonic moment the holder's claim runs out; None when free."""
        if self.lease is None or self.lease.holder is None:
            return None
        return self.observed_at + self.lease.duration_seconds

    def expired(self, now: float) -> bool:
        """Whether anyone may take the lease at ``now`` (observer-monotonic seconds)."""
        expires_at = self.expires_at
        return expires_at is None or now >= expires_at

    def remaining(self, now: float) -> float:
        """Seconds until :meth:`expired` becomes true (0 if it already is)."""
        expires_at = self.expires_at
        return 0.0 if expires_at is None else max(0.0, expires_at - now)


def observe(previous: Observation | None, lease: Lease | None, now: float) -> Observation:
    """Fold a fresh read of the record into what we knew.

    The observation time restarts whenever the record changed since ``previous`` (any write,
    including a renewal, changes its version); otherwise it is kept, so repeated reads of an
    unrenewed lease count towards its expiry.
    """
    if previous is not None and _unchanged(previous.lease, lease):
        return Observation(lease, previous.observed_at)
    return Observation(lease, now)


def _unchanged(before: Lease | None, after: Lease | None) -> bool:
    if before is None or after is None:
        return before is None and after is None
    return before.same_state(after)


class Observer:
    """Watches many leases by name on one clock: what a control plane uses to judge node leases
    (an agent whose lease expired is NotReady) and what a lock contender uses while it waits.

    Not thread-safe; give each thread its own observer.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[str, Observation] = {}

    def see(self, name: str, lease: Lease | None) -> Observation:
        """Record a fresh read of lease ``name`` and return the updated observation."""
        observation = observe(self._seen.get(name), lease, self._clock.monotonic())
        self._seen[name] = observation
        return observation

    def get(self, name: str) -> Observation | None:
        """The last observation of ``name``, or None if it was never seen."""
        return self._seen.get(name)

    def expired(self, name: str) -> bool:
        """Whether ``name`` may be taken now. A lease never seen is not judged expired: we
        have no idea how long it has gone unrenewed."""
        observation = self._seen.get(name)
        return observation is not None and observation.expired(self._clock.monotonic())

    def forget(self, name: str) -> None:
        """Drop what we know about ``name`` (e.g. a node that was removed)."""
        self._seen.pop(name, None)

    def __repr__(self) -> str:
        return f"Observer({len(self._seen)} leases, clock={self._clock!r})"
