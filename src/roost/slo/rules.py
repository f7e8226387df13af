"""Prometheus recording and alerting rules equivalent to the engine (like Sloth generates).

Per SLO: one recording rule per window for the bad-event ratio
(``roost_slo:sli_error:ratio_rate<window>``) and the event count
(``roost_slo:events:increase<window>``, for the minimum-traffic guard), then one alert per tier:
both windows' ratios above ``threshold x budget`` and the long window's events at or above the
guard — the same condition as :meth:`roost.slo.evaluating.Engine.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from roost.slo.budgets import error_budget
from roost.slo.evaluating import Engine, SloTarget
from roost.spec.durations import format_span
from roost.spec.slos import LatencySli, RatioSli
from roost.telemetry.prometheus_source import bad_classes, bucket_bounds, selector

ALERT = "RoostSloErrorBudgetBurn"


def _rates(target: SloTarget, window: str) -> tuple[str, str]:
    """PromQL for (bad events per second, all events per second) over ``window``."""
    sli, service = target.slo.sli, target.service
    if isinstance(sli, RatioSli):
        total = f"sum(rate(roost_requests_total{selector(service=service)}[{window}]))"
        classes = bad_classes(sli.bad_status)
        bad = (
            f"sum(rate(roost_requests_total"
            f"{selector(service=service, code_class='~' + '|'.join(classes))}[{window}]))"
            if classes
            else "vector(0)"
        )
        return f"(({bad}) or vector(0))", total
    if isinstance(sli, LatencySli):
        total = (
            f"sum(rate(roost_request_duration_seconds_count{selector(service=service)}[{window}]))"
        )
        bound = sli.threshold.total_seconds()
        lo, hi = bucket_bounds(bound)

        def le(b: float) -> str:
            sel = selector(service=service, le=f"{b:g}")
            return f"sum(rate(roost_request_duration_seconds_bucket{sel}[{window}]))"

        if hi is None:
            good = total
        elif lo is None:
            good = f"({le(hi)} * {bound / hi:.6g})"
        elif lo == hi:
            good = le(lo)
        else:
            frac = (bound - lo) / (hi - lo)
            good = f"({le(lo)} + ({le(hi)} - {le(lo)}) * {frac:.6g})"
        return f"({total} - {good})", total
    raise ValueError(f"{target.key}: probe SLIs have no Prometheus metrics to write rules for")


def rule_groups(targets: Sequence[SloTarget], *, engine: Engine | None = None) -> dict[str, Any]:
    """The rules file (as data) for ``targets``. Raises ``ValueError`` naming the first SLO that
    cannot have rules (probe SLI, window shorter than a tier's long window)."""
    engine = engine if engine is not None else Engine()
    groups = []
    for target in targets:
        engine.check(target.slo)
        budget = error_budget(target.slo.objective)
        labels = {"roost_service": target.service, "roost_slo": target.slo.name}
        match = selector(**labels)
        rules: list[dict[str, Any]] = []
        for window in engine.windows:
            w = format_span(window)
            bad, total = _rates(target, w)
            rules.append(
                {
                    "record": f"roost_slo:sli_error:ratio_rate{w}",
                    "expr": f"{bad} / {total}",
                    "labels": dict(labels),
                }
            )
            rules.append(
                {
                    "record": f"roost_slo:events:increase{w}",
                    "expr": f"{total} * {int(window.total_seconds())}",
                    "labels": dict(labels),
                }
            )
        for tier in engine.tiers:
            limit = tier.threshold(target.slo.window) * budget
            long, short = format_span(tier.long), format_span(tier.short)
            rules.append(
                {
                    "alert": ALERT,
                    "expr": (
                        f"(roost_slo:sli_error:ratio_rate{long}{match} > {limit:.6g})\n"
                        f"and (roost_slo:sli_error:ratio_rate{short}{match} > {limit:.6g})\n"
                        f"and (roost_slo:events:increase{long}{match} >= {engine.min_events:g})"
                    ),
                    "labels": {**labels, "severity": tier.severity, "tier": tier.name},
                    "annotations": {
                        "summary": f"{target.key} is burning its error budget "
                        f"({tier.threshold(target.slo.window):.4g}x over {long} and {short})",
                        "objective": f"{target.slo.objective:g}% over "
                        f"{format_span(target.slo.window)}",
                    },
                }
            )
        groups.append({"name": f"roost-slo-{target.service}-{target.slo.name}", "rules": rules})
    return {"groups": groups}


def render_rules(targets: Sequence[SloTarget], *, engine: Engine | None = None) -> str:
    """:func:`rule_groups` as a YAML rules file for Prometheus' ``rule_files``."""
    header = "# Generated by `roost slo rules`; regenerate instead of editing.\n"
    body: str = yaml.safe_dump(rule_groups(targets, engine=engine), sort_keys=False, width=200)
    return header + body
