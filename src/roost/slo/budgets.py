"""Error-budget arithmetic: pure functions of counts, objectives and windows.

The vocabulary is the SRE Workbook's (chapter 5, "Alerting on SLOs"): the *error budget* is the
share of events allowed to be bad (0.001 for 99.9 %), the *burn rate* over a window is the
observed bad share divided by that budget (1.0 spends exactly the budget over the SLO window),
and the *budget remaining* is the part of the SLO window's budget not yet spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Counts:
    """Good and total events in one window (``total`` ≥ ``good`` ≥ 0; floats, because
    Prometheus' ``increase()`` extrapolates)."""

    good: float
    total: float

    @property
    def bad(self) -> float:
        """Events that were not good."""
        return max(0.0, self.total - self.good)

    @property
    def bad_ratio(self) -> float | None:
        """The share of bad events; ``None`` without events (no data is not a good SLI)."""
        return self.bad / self.total if self.total > 0 else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.good + other.good, self.total + other.total)


NO_EVENTS = Counts(0.0, 0.0)


def error_budget(objective: float) -> float:
    """The allowed bad share for ``objective`` in percent: 99.9 → 0.001.

    Raises ``ValueError`` for objectives outside (0, 100): at 100 % there is no budget to burn
    and every burn rate would be a division by zero.
    """
    if not 0 < objective < 100:
        raise ValueError(
            f"an objective must be a percentage above 0 and below 100, got {objective:g}"
        )
    return (100.0 - objective) / 100.0


def burn_rate(counts: Counts, *, budget: float) -> float | None:
    """How fast ``counts``' window spends the budget: bad share / ``budget``; ``None`` without
    events."""
    ratio = counts.bad_ratio
    return None if ratio is None else ratio / budget


def budget_remaining(counts: Counts, *, budget: float) -> float | None:
    """The share of the SLO window's budget not spent by ``counts`` (the whole SLO window's
    events): 1.0 untouched, 0.0 exhausted, negative overspent; ``None`` without events."""
    ratio = counts.bad_ratio
    return None if ratio is None else 1.0 - ratio / budget


def time_to_exhaustion(
    remaining: float | None, burn: float | None, *, slo_window: timedelta
) -> timedelta | None:
    """How long until the budget is gone if the current ``burn`` rate keeps up.

    A burn rate of 1 spends the whole budget in one SLO window, so ``remaining`` (a share of
    the budget) lasts ``remaining x window / burn``. ``None`` means "not at this rate": no data,
    or nothing burning. Already exhausted is ``timedelta(0)``.
    """
    if remaining is None or burn is None:
        return None
    if remaining <= 0:
        return timedelta(0)
    if burn <= 0:
        return None
    seconds = remaining * slo_window.total_seconds() / burn
    if not math.isfinite(seconds) or seconds > timedelta.max.total_seconds() / 2:
        return None
    return timedelta(seconds=seconds)
