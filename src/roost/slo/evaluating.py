"""The burn-rate engine: one SLO, one source, one instant → a :class:`SloReport`.

Pure apart from the source it is handed: time is whatever the source's windows end at, and
``now`` only stamps the report. Failures of one SLO (bad tiers, Prometheus down, a PromQL error)
land in that report's ``error``; :func:`evaluate_all` always goes on with the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from roost.slo.budgets import (
    Counts,
    budget_remaining,
    burn_rate,
    error_budget,
    time_to_exhaustion,
)
from roost.slo.sources import CachingSource, SliSource
from roost.slo.tiers import DEFAULT_TIERS, AlertTier, TierError, windows
from roost.spec.durations import format_span
from roost.spec.slos import Slo

MIN_EVENTS = 50
"""Default minimum-traffic guard: a tier's long window needs this many events before it may
fire, so two requests with one failure (a 50 % error ratio!) do not page anyone."""


@dataclass(frozen=True, slots=True)
class SloTarget:
    """One SLO of one service."""

    service: str
    slo: Slo

    @property
    def key(self) -> str:
        """``service/slo``: how people and alert labels name it."""
        return f"{self.service}/{self.slo.name}"


@dataclass(frozen=True, slots=True)
class WindowBurn:
    """Counts and burn rate over one window."""

    window: timedelta
    counts: Counts
    burn: float | None


@dataclass(frozen=True, slots=True)
class TierState:
    """One alert tier's verdict: ``firing`` needs both burns above ``threshold`` and enough
    traffic; ``reason`` says which of those held."""

    tier: AlertTier
    threshold: float
    long_burn: float | None
    short_burn: float | None
    firing: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SloReport:
    """Everything ``roost slo status`` shows for one SLO at ``at``."""

    target: SloTarget
    at: datetime
    budget: float = 0.0
    sli: float | None = None
    """The good share over the shortest window: "the SLI now"."""
    budget_remaining: float | None = None
    exhaustion: timedelta | None = None
    burns: tuple[WindowBurn, ...] = ()
    tiers: tuple[TierState, ...] = ()
    error: str | None = None

    @property
    def firing(self) -> tuple[TierState, ...]:
        """The tiers that fire."""
        return tuple(t for t in self.tiers if t.firing)

    @property
    def paging(self) -> bool:
        """Whether a ``page`` tier fires."""
        return any(t.tier.severity == "page" for t in self.firing)


@dataclass(frozen=True, slots=True)
class Engine:
    """Tiers and the traffic guard; :meth:`evaluate` applies them."""

    tiers: tuple[AlertTier, ...] = DEFAULT_TIERS
    min_events: float = MIN_EVENTS
    windows: tuple[timedelta, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(windows(self.tiers)))

    def check(self, slo: Slo) -> None:
        """Raise :class:`TierError`/``ValueError`` when ``slo`` cannot be evaluated with these
        tiers (objective out of range, window shorter than a long alert window)."""
        error_budget(slo.objective)
        for tier in self.tiers:
            tier.threshold(slo.window)

    def evaluate(self, target: SloTarget, source: SliSource, *, now: datetime) -> SloReport:
        """Evaluate ``target`` against ``source``; never raises for a source failure."""
        slo = target.slo
        try:
            self.check(slo)
            budget = error_budget(slo.objective)
        except (TierError, ValueError) as exc:
            return SloReport(target, now, error=f"{target.key}: {exc}")
        try:
            counts = {
                w: Counts(*source.sli_counts(target.service, slo.sli, window=w))
                for w in (*self.windows, slo.window)
            }
        except Exception as exc:  # any backend failure is this SLO's, not the whole round's
            return SloReport(target, now, budget=budget, error=f"{target.key}: {exc}")
        burns = tuple(
            WindowBurn(w, counts[w], burn_rate(counts[w], budget=budget)) for w in self.windows
        )
        by_window = {b.window: b for b in burns}
        states = tuple(self._tier(t, by_window, slo.window) for t in self.tiers)
        remaining = budget_remaining(counts[slo.window], budget=budget)
        # The exhaustion estimate uses the fastest tier's long window: recent enough to react
        # to an outage, long enough not to swing on single requests.
        current = by_window[self.tiers[0].long].burn if self.tiers else None
        shortest = burns[0].counts.bad_ratio if burns else None
        return SloReport(
            target,
            now,
            budget=budget,
            sli=None if shortest is None else 1.0 - shortest,
            budget_remaining=remaining,
            exhaustion=time_to_exhaustion(remaining, current, slo_window=slo.window),
            burns=burns,
            tiers=states,
        )

    def _tier(
        self, tier: AlertTier, burns: dict[timedelta, WindowBurn], slo_window: timedelta
    ) -> TierState:
        threshold = tier.threshold(slo_window)
        long, short = burns[tier.long], burns[tier.short]
        if long.counts.total < self.min_events:
            reason = f"too little traffic ({long.counts.total:g} < {self.min_events:g} events)"
            return TierState(tier, threshold, long.burn, short.burn, False, reason)
        over_long = long.burn is not None and long.burn > threshold
        over_short = short.burn is not None and short.burn > threshold
        firing = over_long and over_short
        reason = (
            f"burn {_x(long.burn)} over {format_span(tier.long)} and {_x(short.burn)} over "
            f"{format_span(tier.short)} {'exceed' if firing else 'vs'} {threshold:.4g}x"
        )
        return TierState(tier, threshold, long.burn, short.burn, firing, reason)


def evaluate_all(
    targets: Iterable[SloTarget],
    source: SliSource,
    *,
    now: datetime,
    engine: Engine | None = None,
) -> list[SloReport]:
    """Evaluate every target; SLOs sharing an SLI and windows query the source once."""
    engine = engine if engine is not None else Engine()
    cached = CachingSource(source)
    return [engine.evaluate(t, cached, now=now) for t in targets]


def targets_of(services: Sequence[tuple[str, Sequence[Slo]]]) -> list[SloTarget]:
    """``[(service, slos)]`` → targets, in order."""
    return [SloTarget(name, slo) for name, slos in services for slo in slos]


def _x(burn: float | None) -> str:
    return "n/a" if burn is None else f"{burn:.4g}x"
