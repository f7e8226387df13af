"""Leader election as pure decisions: (state, observation, clock reading) -> next action.

The rules are client-go's ``leaderelection`` package, with roost's additions:

* **Timings.** ``lease_duration`` > ``renew_deadline`` > 1.2 x ``retry_period`` (client-go's
  ``JitterFactor``), all positive; anything else is an :class:`ElectionConfigError` at start-up.
* **Followers** read the lease every ``retry_period`` (plus up to ``jitter`` x that at random,
  so a crowd of followers does not poll in lockstep). A lease that is free is taken at once; a
  held one only after it has stayed unchanged for its duration *on the follower's own
  monotonic clock* (:mod:`roost.leases.observing`), by a compare-and-swap on the version the
  follower watched. A follower also polls exactly when the watched lease would expire rather
  than on the next tick, so failover takes at most ``lease_duration + retry_period`` (plus
  jitter) after the leader's last renewal.
* **The leader** renews every ``retry_period``. If no renewal has succeeded for
  ``renew_deadline`` it steps down *before* anyone else may take over (they wait
  ``lease_duration``). The clock for that deadline starts when a successful renewal was *sent*,
  not when its answer came back: observers may have seen the write any time after it left.
  A renewal that finds the lease gone or someone else's steps down at once.
* **Single instance** (no election): take the lease at once, whoever held it, with a fixed
  duration of a year, and lead until stopped; no renewals, no step-down. For a deployment that
  promises to run one control plane: a restart after ``kill -9`` does not wait for the dead
  predecessor's lease to expire, and its fence still makes the predecessor's writes stale.

Fencing is what makes this safe even when the rules are broken (a leader paused longer than its
renew deadline by a GC, SIGSTOP or a VM migration does not know it was deposed): the leader's
writes carry its lease's fence and the store refuses stale ones.

Nothing here performs I/O or reads a clock: :mod:`roost.leases.campaigning` does, and feeds the
results back through :meth:`Election.observed`, :meth:`Election.acquired` and friends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from roost.leases._checks import require_name
from roost.leases.errors import ElectionConfigError
from roost.leases.observing import Observation, observe
from roost.leases.records import Lease

#: client-go's JitterFactor: the renew deadline must leave room for more than one retry.
JITTER_FACTOR = 1.2
#: The fixed lease a single-instance control plane holds (see module doc).
SINGLE_INSTANCE_LEASE_SECONDS = 365 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class ElectionConfig:
    """What to elect (``lease_name``), who we are (``identity``), and the timings in seconds.

    The defaults are client-go's (15 s / 10 s / 2 s). ``identity`` must be unique per process:
    two processes with one identity would both think they lead.
    """

    lease_name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    jitter: float = 0.1
    single_instance: bool = False
    release_on_stop: bool = True

    def __post_init__(self) -> None:
        try:
            require_name(self.lease_name)
            require_name(self.identity, "election identity")
        except ValueError as exc:
            raise ElectionConfigError(str(exc), hint="") from None
        for field in ("lease_duration", "renew_deadline", "retry_period"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ElectionConfigError(f"{field} must be a number of seconds, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ElectionConfigError(f"{field} must be positive and finite, got {value!r}")
        if self.lease_duration <= self.renew_deadline:
            raise ElectionConfigError(
                f"lease duration ({self.lease_duration:g}s) must be greater than the renew "
                f"deadline ({self.renew_deadline:g}s): a leader that cannot renew must step "
                "down before a follower may take over"
            )
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ElectionConfigError(
                f"renew deadline ({self.renew_deadline:g}s) must be greater than "
                f"{JITTER_FACTOR:g} x retry period ({self.retry_period:g}s): the leader needs "
                "time for more than one renewal attempt before it steps down"
            )
        if not 0 <= self.jitter <= 1:
            raise ElectionConfigError(f"jitter must be between 0 and 1, got {self.jitter!r}")

    @property
    def held_duration(self) -> float:
        """The duration written into the lease."""
        return SINGLE_INSTANCE_LEASE_SECONDS if self.single_instance else self.lease_duration


class Role(StrEnum):
    FOLLOWER = "follower"
    LEADER = "leader"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Observe:
    """Read the lease record, then report it with :meth:`Election.observed`."""


@dataclass(frozen=True, slots=True)
class Acquire:
    """Try to take the lease (``expected_version``: the version watched expire, or None when it
    is free or ours), then report with :meth:`Election.acquired`."""

    expected_version: str | None
    duration_seconds: float


@dataclass(frozen=True, slots=True)
class Renew:
    """Renew our lease, then report with :meth:`Election.renewed`/:meth:`Election.renew_failed`."""


@dataclass(frozen=True, slots=True)
class StepDown:
    """Stop acting as leader now (then :meth:`Election.stepped_down`)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do for ``seconds`` (may be ``math.inf``: until stopped)."""

    seconds: float


Action = Observe | Acquire | Renew | StepDown | Wait


@dataclass(frozen=True, slots=True)
class Election:
    """One participant's election state. Times are the participant's monotonic seconds.

    ``fresh``: the last observation has not been acted on yet. ``renewed_at``: when the last
    successful acquisition or renewal was sent.
    """

    config: ElectionConfig
    role: Role = Role.FOLLOWER
    observation: Observation | None = None
    fresh: bool = False
    next_poll: float = 0.0
    lease: Lease | None = None
    renewed_at: float = 0.0
    next_renew: float = 0.0

    @property
    def leading(self) -> bool:
        return self.role is Role.LEADER

    def plan(self, now: float) -> Action:
        """What to do at ``now``."""
        if self.role is Role.STOPPED:
            return Wait(math.inf)
        if self.role is Role.LEADER:
            return self._plan_leading(now)
        return self._plan_following(now)

    def _plan_leading(self, now: float) -> Action:
        config = self.config
        if config.single_instance:
            return Wait(math.inf)
        # Compare with the same sums the wait is computed from: with ``now - renewed_at``
        # on one side, float rounding could make both "not yet" and "wait 0 s" true at once.
        deadline = self.renewed_at + config.renew_deadline
        if now >= deadline:
            return StepDown(
                f"no successful renewal for {now - self.renewed_at:.3g}s "
                f"(renew deadline {config.renew_deadline:g}s)"
            )
        if now >= self.next_renew:
            return Renew()
        return Wait(min(self.next_renew, deadline) - now)

    def _plan_following(self, now: float) -> Action:
        if self.fresh and self.observation is not None:
            decision = self._acquisition(now, self.observation)
            if decision is not None:
                return decision
        if now >= self.next_poll:
            return Observe()
        return Wait(self.next_poll - now)

    def _acquisition(self, now: float, seen: Observation) -> Acquire | None:
        lease, config = seen.lease, self.config
        held_by_other = lease is not None and lease.holder not in (None, config.identity)
        expected = lease.version if held_by_other and lease is not None else None
        if config.single_instance or not held_by_other or seen.expired(now):
            return Acquire(expected, config.held_duration)
        return None

    # -- outcomes --------------------------------------------------------------------------

    def observed(self, lease: Lease | None, now: float, *, draw: float) -> Election:
        """Fold in a read of the record made at ``now``; ``draw`` in [0, 1) picks the jitter."""
        seen = observe(self.observation, lease, now)
        poll = now + self._retry(draw)
        expires_at = seen.expires_at
        if expires_at is not None and lease is not None and lease.holder != self.config.identity:
            poll = min(poll, expires_at)  # look again exactly when it would expire
        return replace(self, observation=seen, fresh=True, next_poll=poll)

    def observe_failed(self, now: float, *, draw: float) -> Election:
        """The read failed (backend unreachable): try again after a retry period."""
        return replace(self, fresh=False, next_poll=now + self._retry(draw))

    def acquired(self, lease: Lease | None, *, started: float, now: float, draw: float) -> Election:
        """Report an acquisition attempt sent at ``started``: the lease, or None if lost."""
        if lease is None:
            return replace(self, fresh=False, next_poll=now + self._retry(draw))
        return replace(
            self,
            role=Role.LEADER,
            lease=lease,
            observation=Observation(lease, now),
            fresh=False,
            renewed_at=started,
            next_renew=started + self.config.retry_period,
        )

    def acquire_failed(self, now: float, *, draw: float) -> Election:
        """The acquisition attempt failed with an error: try again after a retry period."""
        return self.acquired(None, started=now, now=now, draw=draw)

    def renewed(self, lease: Lease, *, started: float) -> Election:
        """Report a renewal sent at ``started`` that succeeded."""
        return replace(
            self, lease=lease, renewed_at=started, next_renew=started + self.config.retry_period
        )

    def renew_failed(self, now: float, *, lost: bool) -> Election:
        """Report a failed renewal. ``lost``: the lease is gone or someone else's (step down
        at once); otherwise (backend error) retry until the renew deadline."""
        if lost:
            return self.stepped_down(now)
        return replace(self, next_renew=now + self.config.retry_period)

    def stepped_down(self, now: float) -> Election:
        """We no longer lead: back to following, reading the record right away."""
        return replace(
            self,
            role=Role.FOLLOWER,
            lease=None,
            observation=None,
            fresh=False,
            next_poll=now,
        )

    def stopped(self) -> Election:
        return replace(self, role=Role.STOPPED, lease=None, fresh=False)

    def _retry(self, draw: float) -> float:
        return self.config.retry_period * (1 + self.config.jitter * draw)
