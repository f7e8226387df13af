"""Service level objectives: error budgets and multiwindow, multi-burn-rate alerting.

Pure domain logic (no I/O of its own): :mod:`roost.slo.evaluating` turns an SLO and an
:class:`~roost.slo.sources.SliSource` into a report; :mod:`roost.slo.gating` turns reports into
rollout decisions; :mod:`roost.slo.rules` writes equivalent Prometheus rules;
:mod:`roost.slo.openslo` reads and writes OpenSLO v1.
"""

from roost.slo.budgets import Counts, budget_remaining, burn_rate, error_budget, time_to_exhaustion
from roost.slo.evaluating import (
    MIN_EVENTS,
    Engine,
    SloReport,
    SloTarget,
    TierState,
    WindowBurn,
    evaluate_all,
)
from roost.slo.sources import CachingSource, MetricsSliSource, SliSource, UnsupportedSli
from roost.slo.tiers import DEFAULT_TIERS, AlertTier, TierError, slo_tiers, workbook_tier

__all__ = [
    "DEFAULT_TIERS",
    "MIN_EVENTS",
    "AlertTier",
    "CachingSource",
    "Counts",
    "Engine",
    "MetricsSliSource",
    "SliSource",
    "SloReport",
    "SloTarget",
    "TierError",
    "TierState",
    "UnsupportedSli",
    "WindowBurn",
    "budget_remaining",
    "burn_rate",
    "error_budget",
    "evaluate_all",
    "slo_tiers",
    "time_to_exhaustion",
    "workbook_tier",
]
