"""Agent conditions from heartbeats, as pure decisions: (what was known, node leases seen,
clock readings) -> (conditions now, the transitions to report).

An agent renews a node lease (``agent-<host>``) every few seconds. The control plane calls it
**NotReady** once that lease has gone unchanged for ``grace`` seconds *on the control plane's
own monotonic clock* since it last saw it change — the observer rule of
:mod:`roost.leases.observing`, so a skewed clock on the agent's host cannot make a live agent
look dead — or at once when the agent released its lease (a clean stop) or the lease is gone.
A NotReady agent gets no new work; it is **Ready** again as soon as its lease moves.

Only transitions are reported: the first sighting of a node sets its condition silently (a
restarted control plane must not re-announce every agent), so an agent that was already dead
before the control plane started is reported once its grace has passed on this observer.

:func:`judge_once` is the one-shot variant for ``roost doctor``, which has no history: it
judges the age of the last renewal by the timestamps in the lease.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from roost._util import event_catalog

READY = "Ready"
NOT_READY = "NotReady"
DEFAULT_GRACE_SECONDS = 15.0
"""Three missed heartbeats of an agent that renews every 5 s."""
READY_EVENT = event_catalog.AGENT_READY
NOT_READY_EVENT = event_catalog.AGENT_NOT_READY


def grace_seconds(value: float | None) -> float:
    """The grace period to use: ``value`` (checked) or the default."""
    if value is None:
        return DEFAULT_GRACE_SECONDS
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"heartbeat grace must be a positive number of seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A node lease as read from the lease store."""

    node: str
    holder: str | None
    renewed_at: datetime
    fencing_token: int

    @property
    def mark(self) -> tuple[str | None, datetime, int]:
        """Changes exactly when the agent renewed, released or was replaced."""
        return (self.holder, self.renewed_at, self.fencing_token)


@dataclass(frozen=True, slots=True)
class AgentCondition:
    """What the control plane believes about one agent."""

    node: str
    status: str
    since: datetime
    """When this status began (observer's wall clock; the first sighting for a new node)."""
    reason: str
    last_heartbeat: datetime | None
    holder: str | None
    changed_at: float = 0.0
    """Observer monotonic seconds when the lease was last seen to change."""
    mark: tuple[str | None, datetime, int] | None = None

    @property
    def ready(self) -> bool:
        return self.status == READY

    @property
    def event_type(self) -> str:
        return READY_EVENT if self.ready else NOT_READY_EVENT

    def describe(self) -> str:
        """One line for people: ``agent web-1 NotReady since …, last heartbeat … (why)``."""
        last = _clock(self.last_heartbeat) if self.last_heartbeat else "never"
        return (
            f"agent {self.node} {self.status} since {_clock(self.since)}, "
            f"last heartbeat {last} ({self.reason})"
        )

    def event_data(self) -> dict[str, object]:
        return {
            "node": self.node,
            "status": self.status,
            "since": self.since.isoformat(),
            "reason": self.reason,
            "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
            "holder": self.holder,
        }


def judge(
    previous: Mapping[str, AgentCondition],
    heartbeats: Iterable[Heartbeat],
    *,
    monotonic: float,
    now: datetime,
    grace: float,
) -> tuple[dict[str, AgentCondition], list[AgentCondition]]:
    """Fold one read of every node lease into the conditions; returns the new conditions and
    those whose status changed (in node order)."""
    seen = {beat.node: beat for beat in heartbeats}
    current: dict[str, AgentCondition] = {}
    changed: list[AgentCondition] = []
    for node in sorted(set(previous) | set(seen)):
        before = previous.get(node)
        beat = seen.get(node)
        if beat is None:
            assert before is not None
            status, reason = NOT_READY, "its node lease was deleted"
            after = replace(before, holder=None, mark=None)
        else:
            moved = before is None or before.mark != beat.mark
            changed_at = monotonic if moved or before is None else before.changed_at
            quiet = monotonic - changed_at
            status, reason = _status(beat, quiet, grace)
            base = before or AgentCondition(node, status, now, reason, None, None)
            after = replace(
                base,
                last_heartbeat=beat.renewed_at,
                holder=beat.holder,
                changed_at=changed_at,
                mark=beat.mark,
            )
        if before is None or before.status != status:
            after = replace(after, status=status, since=now, reason=reason)
            if before is not None:
                changed.append(after)
        else:
            after = replace(after, reason=reason)
        current[node] = after
    return current, changed


def _status(beat: Heartbeat, quiet: float, grace: float) -> tuple[str, str]:
    """Ready or not, and why, for a lease last heard from ``quiet`` seconds ago."""
    if beat.holder is None:
        return NOT_READY, "the agent released its node lease (stopped)"
    if quiet >= grace:
        return NOT_READY, f"no heartbeat for {quiet:.0f}s (grace {grace:g}s)"
    return READY, "heartbeats arrive"


def judge_once(beat: Heartbeat, *, now: datetime, grace: float) -> AgentCondition:
    """One look without history (``roost doctor``): the lease's own renewal time against
    ``now``. Only meaningful when both clocks agree (same host, or synchronised)."""
    age = (now - beat.renewed_at).total_seconds()
    status, reason = _status(beat, age, grace)
    # A silent agent became NotReady when its grace ran out; the others since their last write.
    silent = status == NOT_READY and beat.holder is not None
    since = beat.renewed_at + timedelta(seconds=grace) if silent else beat.renewed_at
    return AgentCondition(
        beat.node, status, since, reason, beat.renewed_at, beat.holder, mark=beat.mark
    )


def _clock(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
