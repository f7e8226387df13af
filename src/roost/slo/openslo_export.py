"""Write roost SLOs as OpenSLO v1, following the specification's rules.

Per service one ``Service``; per SLO an ``SLI`` whose queries are PromQL over roost's own
metrics and the ``SLO``; per alert tier one ``AlertCondition`` and one ``AlertPolicy`` (the
specification allows a single condition per policy), each policy notifying the
``AlertNotificationTarget`` ``roost-alerts`` (``notificationTargets`` is required). An SLO's
``alertPolicies`` name exactly its own tiers, so export → import gives each SLO its own alerts
back. The workbook's default tiers are written once and shared; an SLO's own tiers are prefixed
with the SLO's document name (the tier name kept in the ``roost_tier`` label).

Durations are duration-shorthand (whole minutes, hours or days). ``alertAfter`` is left out:
roost fires as soon as the burn shows over both windows, which is the specification's default
(``0m``), and the shorthand has no way to write zero (its number is positive).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import yaml

from roost.slo.evaluating import SloTarget
from roost.slo.openslo_durations import write_shorthand
from roost.slo.tiers import DEFAULT_TIERS, AlertTier, slo_tiers
from roost.spec.durations import format_span
from roost.spec.slos import LatencySli, RatioSli
from roost.telemetry.prometheus_source import bad_classes, selector

NOTIFY = "roost-alerts"
"""The notification target every exported policy names: roost's own alerting."""

_API = "openslo/v1"


def _doc(kind: str, name: str, spec: dict[str, Any], **labels: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": _API, "kind": kind, "metadata": metadata, "spec": spec}


def export_openslo(targets: Sequence[SloTarget]) -> str:
    """The OpenSLO v1 documents for ``targets`` (with each SLO's own alert tiers) as one
    multi-document YAML file. Probe SLOs have no metric to point OpenSLO at and are skipped."""
    docs: list[dict[str, Any]] = [
        _doc("Service", service, {}) for service in dict.fromkeys(t.service for t in targets)
    ]
    docs.append(
        _doc(
            "AlertNotificationTarget",
            NOTIFY,
            {"description": "roost's own alerting (roost alerts, alert events)", "target": "roost"},
        )
    )
    written: set[str] = set()
    for target in targets:
        sli = _sli_spec(target)
        if sli is None:
            continue
        slo, name = target.slo, f"{target.service}-{target.slo.name}"
        tiers = slo_tiers(slo)
        policies = []
        for tier in tiers:
            shared = tier in DEFAULT_TIERS
            condition = tier.name if shared else f"{name}-{tier.name}"
            policies.append(condition)
            if condition in written:
                continue
            written.add(condition)
            labels = {} if shared else {"roost_tier": tier.name}
            docs.append(_doc("AlertCondition", condition, _condition(tier), **labels))
            docs.append(
                _doc(
                    "AlertPolicy",
                    condition,
                    {
                        "alertWhenNoData": False,
                        "alertWhenResolved": True,
                        "alertWhenBreaching": True,
                        "conditions": [{"conditionRef": condition}],
                        "notificationTargets": [{"targetRef": NOTIFY}],
                    },
                )
            )
        docs.append(_doc("SLI", name, sli))
        objective: dict[str, Any] = {
            "displayName": slo.name,
            "target": round(slo.objective / 100, 8),
        }
        if isinstance(slo.sli, LatencySli):
            objective |= {"op": "lte", "value": slo.sli.threshold.total_seconds()}
        spec: dict[str, Any] = {
            **({"description": slo.description} if slo.description else {}),
            "service": target.service,
            "indicatorRef": name,
            "timeWindow": [{"duration": write_shorthand(slo.window), "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [objective],
            "alertPolicies": [{"alertPolicyRef": p} for p in policies],
        }
        docs.append(_doc("SLO", name, spec, roost_slo=slo.name))
    return yaml.safe_dump_all(docs, sort_keys=False, width=200)


def _condition(tier: AlertTier) -> dict[str, Any]:
    burn = tier.threshold(timedelta(days=30))
    return {
        "description": f"{burn:.4g}x over {format_span(tier.long)} "
        f"(and {format_span(tier.short)}), for a 30-day SLO",
        "severity": tier.severity,
        "condition": {
            "kind": "burnrate",
            "op": "gte",
            "threshold": round(burn, 6),
            "lookbackWindow": write_shorthand(tier.long),
        },
    }


def _sli_spec(target: SloTarget) -> dict[str, Any] | None:
    sli, service = target.slo.sli, target.service

    def source(query: str) -> dict[str, Any]:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}

    if isinstance(sli, RatioSli):
        bad = "|".join(bad_classes(sli.bad_status))
        return {
            "ratioMetric": {
                "counter": True,
                "bad": source(
                    f"roost_requests_total{selector(service=service, code_class='~' + bad)}"
                ),
                "total": source(f"roost_requests_total{selector(service=service)}"),
            }
        }
    if isinstance(sli, LatencySli):
        sel = selector(service=service)
        return {
            "thresholdMetric": source(
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(roost_request_duration_seconds_bucket{sel}[5m])))"
            )
        }
    return None
