"""Loop guards (pure): chain depth, rate limit, cooldown. A trigger that trips one is
suspended until someone resumes it (``roost events triggers resume``), with an event that
says which guard and why: self-healing rules must not heal forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from roost.spec.triggers import Guard


@dataclass(frozen=True, slots=True)
class Tripped:
    """Which guard (``max_depth``, ``max_rate``, ``cooldown``) stopped a trigger, and why."""

    guard: str
    reason: str


def check(
    guard: Guard,
    *,
    trigger: str,
    depth: int,
    recent: int,
    last_in_chain: datetime | None,
    now: datetime,
) -> Tripped | None:
    """Whether delivering one more event (at chain ``depth``) to ``trigger`` trips a guard;
    ``recent``: deliveries in the last ``rate_window``; ``last_in_chain``: the last delivery
    of the same correlated chain to this trigger."""
    if depth > guard.max_depth:
        return Tripped(
            "max_depth",
            f"trigger {trigger} was reached at chain depth {depth}, past its max_depth "
            f"{guard.max_depth}: an automation loop (an action's events trigger it again)",
        )
    if guard.max_rate is not None and recent >= guard.max_rate:
        return Tripped(
            "max_rate",
            f"trigger {trigger} had {recent} deliveries within {guard.rate_window}, its "
            f"max_rate is {guard.max_rate}",
        )
    if guard.cooldown and last_in_chain is not None and now - last_in_chain < guard.cooldown:
        return Tripped(
            "cooldown",
            f"trigger {trigger} fired again for the same chain within its cooldown "
            f"({guard.cooldown})",
        )
    return None
