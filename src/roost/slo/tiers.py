"""Multiwindow, multi-burn-rate alert tiers (SRE Workbook, chapter 5, table 5-8).

A tier fires when the burn rate exceeds its threshold over *both* its long window (enough budget
is really being spent) and its short window (it is still happening — so the alert resolves soon
after recovery instead of an hour later).

The workbook's thresholds (14.4x, 6x, 1x) are for a 30-day SLO: 14.4x over one hour spends 2 %
of a 30-day budget. roost stores each tier as the *share of the budget* it stands for and
derives the threshold for the SLO's own window, so a 28-day SLO pages at 13.44x over one hour —
still "2 % of the budget in an hour" — the way Sloth and Pyrra scale theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from roost.spec.durations import format_span
from roost.spec.slos import DEFAULT_ALERTS, Slo

Severity = Literal["page", "ticket"]

WORKBOOK_WINDOW = timedelta(days=30)
"""The SLO window the workbook's thresholds were computed for."""


class TierError(ValueError):
    """A tier does not fit an SLO (e.g. its long window is longer than the SLO window)."""


@dataclass(frozen=True, slots=True)
class AlertTier:
    """Fire ``severity`` when ``budget_spent`` of the budget would go in ``long`` (and the burn
    also shows over ``short``)."""

    name: str
    severity: Severity
    budget_spent: float
    long: timedelta
    short: timedelta

    def __post_init__(self) -> None:
        if not 0 < self.budget_spent <= 1:
            raise TierError(
                f"tier {self.name}: budget_spent must be in (0, 1], got {self.budget_spent}"
            )
        if not timedelta(0) < self.short < self.long:
            raise TierError(f"tier {self.name}: need 0 < short window < long window")

    def threshold(self, slo_window: timedelta) -> float:
        """The burn-rate threshold for an SLO over ``slo_window``.

        Raises :class:`TierError` when the long window does not fit in the SLO window: such a
        tier would need more budget than the SLO has.
        """
        if self.long > slo_window:
            raise TierError(
                f"the SLO window {format_span(slo_window)} is shorter than the {self.name} tier's "
                f"long alert window {format_span(self.long)}"
            )
        return self.budget_spent * slo_window / self.long


DEFAULT_TIERS: tuple[AlertTier, ...] = tuple(
    AlertTier(a.name, a.severity, a.budget_spent, a.long_window, a.short_window)
    for a in DEFAULT_ALERTS
)
"""The workbook's tiers (page-fast, page-slow, ticket); defined in ``roost.spec.slos`` so that
validation refuses an SLO window they do not fit in."""


def workbook_tier(
    name: str, severity: Severity, *, burn: float, long: timedelta, short: timedelta
) -> AlertTier:
    """A tier written the workbook's way (a burn rate for a 30-day SLO)."""
    return AlertTier(name, severity, burn * long / WORKBOOK_WINDOW, long, short)


def windows(tiers: Sequence[AlertTier]) -> list[timedelta]:
    """Every distinct window the tiers look at, shortest first."""
    return sorted({w for t in tiers for w in (t.long, t.short)})


def slo_tiers(slo: Slo) -> tuple[AlertTier, ...]:
    """The tiers of ``slo``: its own ``alerts`` from roost.yaml (a burn rate for its own
    window), else :data:`DEFAULT_TIERS`."""
    if slo.alerts is None:
        return DEFAULT_TIERS
    return tuple(
        AlertTier(
            a.name,
            a.severity,
            min(1.0, a.burn_rate * a.long_window / slo.window),
            a.long_window,
            a.short_window,
        )
        for a in slo.alerts
    )
