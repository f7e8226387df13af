"""One analysis interval: the canary's thresholds and its comparison with stable → a verdict.

Reads a :class:`~roost.telemetry.MetricsSource` (the protocol; whatever backend the executor
wires in) and nothing else. "No data" from the source stays no data: a check without enough
requests is *inconclusive* with a reason that says how many there were and how many it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from roost.rollout import _formatting as fmt
from roost.rollout.comparing import compare_error_ratio, compare_latency
from roost.rollout.verdicts import CheckResult, Outcome, Verdict
from roost.spec.analysis import Analysis, Check

if TYPE_CHECKING:
    # Only the protocol's type; the telemetry package itself is the executor's business.
    from roost.telemetry._protocol import MetricsSource

SAMPLE_LIMIT = 1000
"""Latency samples fetched per revision for the rank test: plenty of power, bounded cost."""

_QUANTILES = {"latency_p50": 0.5, "latency_p95": 0.95, "latency_p99": 0.99}
_LABELS = {
    "error_ratio": "error ratio",
    "latency_p50": "p50 latency",
    "latency_p95": "p95 latency",
    "latency_p99": "p99 latency",
    "request_rate": "request rate",
}


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """What to analyse: ``canary`` (against ``stable``) of ``service``, over the last ``window``,
    with ``analysis``'s checks and comparison. ``step`` is the index of the analysis step it
    gates, or ``None`` for the background analysis that runs during every step."""

    service: str
    canary: str
    stable: str | None
    analysis: Analysis
    window: timedelta
    step: int | None = None


def analyse(metrics: MetricsSource, request: AnalysisRequest, *, now: datetime) -> Verdict:
    """Run every check of ``request`` and combine them into a :class:`Verdict`.

    The metrics source's windows end at its own "now"; ``now`` only stamps the verdict's window
    (``now - window`` to ``now``), which the rollout uses as the fault's earliest start.
    """
    analysis, window = request.analysis, request.window
    service, canary, stable = request.service, request.canary, request.stable
    canary_n = metrics.request_count(service, canary, window=window)
    stable_n = None if stable is None else metrics.request_count(service, stable, window=window)
    results = [
        evaluate_check(
            metrics,
            check,
            service=service,
            revision=canary,
            requests=canary_n,
            stable_requests=stable_n,
            min_samples=analysis.min_samples,
            window=window,
        )
        for check in analysis.checks
    ]
    if analysis.compare_to_stable is not None:
        results.append(_compare(metrics, request, canary_n=canary_n, stable_n=stable_n or 0))
    return Verdict.of(
        results, canary=canary, stable=stable, window_start=now - window, window_end=now
    )


def evaluate_check(
    metrics: MetricsSource,
    check: Check,
    *,
    service: str,
    revision: str,
    requests: int,
    stable_requests: int | None,
    min_samples: int,
    window: timedelta,
) -> CheckResult:
    """One threshold check on ``revision`` that served ``requests`` requests in ``window``."""
    label = _LABELS[check.metric]
    name = _check_name(check)
    over = f"over {fmt.span(window)} ({fmt.requests(requests)})"
    value: float | None
    if check.metric == "request_rate":
        # A rate needs no minimum sample count (the count *is* the measurement), but zero
        # traffic everywhere says nothing about the canary: an idle system is not a regression.
        if requests == 0 and not stable_requests:
            return CheckResult(
                name,
                Outcome.INCONCLUSIVE,
                f"no traffic at all {over}: cannot tell an idle service from a broken canary",
                samples=0,
            )
        value = metrics.request_rate(service, revision, window=window)
    else:
        if requests < min_samples:
            return CheckResult(
                name,
                Outcome.INCONCLUSIVE,
                f"too few requests for {label}: {requests} over {fmt.span(window)}, "
                f"need {min_samples}",
                samples=requests,
            )
        if check.metric == "error_ratio":
            value = metrics.error_ratio(service, revision, window=window)
        else:
            value = metrics.latency_quantile(
                service, revision, _QUANTILES[check.metric], window=window
            )
        if value is None:
            return CheckResult(
                name, Outcome.INCONCLUSIVE, f"no {label} data {over}", samples=requests
            )
    return _bounds(check, name, label, value, over, requests)


def _bounds(
    check: Check, name: str, label: str, value: float, over: str, requests: int
) -> CheckResult:
    show = _shower(check)
    if check.max is not None and value > check.max:
        return CheckResult(
            name,
            Outcome.FAIL,
            f"{label} {show(value)} > max {show(check.max)} {over}",
            observed=value,
            limit=check.max,
            samples=requests,
        )
    if check.min is not None and value < check.min:
        return CheckResult(
            name,
            Outcome.FAIL,
            f"{label} {show(value)} < min {show(check.min)} {over}",
            observed=value,
            limit=check.min,
            samples=requests,
        )
    bounds = [
        f"{word} {show(bound)}"
        for word, bound in (("≤ max", check.max), ("≥ min", check.min))
        if bound is not None
    ]
    return CheckResult(
        name,
        Outcome.PASS,
        f"{label} {show(value)} {' and '.join(bounds)} {over}",
        observed=value,
        limit=check.max if check.max is not None else check.min,
        samples=requests,
    )


def _compare(
    metrics: MetricsSource, request: AnalysisRequest, *, canary_n: int, stable_n: int
) -> CheckResult:
    settings = request.analysis.compare_to_stable
    assert settings is not None
    name = f"compare {settings.metric}"
    if request.stable is None:
        return CheckResult(
            name, Outcome.INCONCLUSIVE, "no stable revision to compare with", samples=canary_n
        )
    service, window, need = request.service, request.window, request.analysis.min_samples
    if settings.metric == "latency":
        limit = max(SAMPLE_LIMIT, need)
        canary_samples: Sequence[float] = metrics.latency_samples(
            service, request.canary, window=window, limit=limit
        )
        stable_samples = metrics.latency_samples(
            service, request.stable, window=window, limit=limit
        )
        return compare_latency(
            canary_samples, stable_samples, settings=settings, min_samples=need, window=window
        )
    canary_ratio = metrics.error_ratio(service, request.canary, window=window)
    stable_ratio = metrics.error_ratio(service, request.stable, window=window)
    return compare_error_ratio(
        (canary_n, canary_ratio),
        (stable_n, stable_ratio),
        settings=settings,
        min_samples=need,
        window=window,
    )


def _check_name(check: Check) -> str:
    show = _shower(check)
    bounds = [
        f"{word} {show(bound)}"
        for word, bound in (("max", check.max), ("min", check.min))
        if bound is not None
    ]
    return f"{check.metric} {' '.join(bounds)}"


def _shower(check: Check) -> Callable[[float], str]:
    if check.metric == "error_ratio":
        return fmt.percent
    if check.metric == "request_rate":
        return fmt.rate
    return fmt.latency
