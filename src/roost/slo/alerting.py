"""SLO reports → alert label sets (plain data; :mod:`roost.alerts` routes them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from roost.slo.evaluating import SloReport
from roost.slo.rules import ALERT
from roost.spec.durations import format_span


@dataclass(frozen=True, slots=True)
class FiringTier:
    """A firing tier as an alert: ``labels`` identify it, ``annotations`` explain it."""

    labels: dict[str, str]
    annotations: dict[str, str]


def firing_tiers(reports: Iterable[SloReport]) -> list[FiringTier]:
    """One alert per firing tier, labelled like the exported Prometheus rules' alerts, so an
    Alertmanager routes roost-evaluated and Prometheus-evaluated alerts the same way."""
    out = []
    for report in reports:
        target = report.target
        for state in report.firing:
            out.append(
                FiringTier(
                    labels={
                        "alertname": ALERT,
                        "roost_service": target.service,
                        "roost_slo": target.slo.name,
                        "severity": state.tier.severity,
                        "tier": state.tier.name,
                    },
                    annotations={
                        "summary": f"{target.key} is burning its error budget "
                        f"({state.threshold:.4g}x over {format_span(state.tier.long)} and "
                        f"{format_span(state.tier.short)})",
                        "description": state.reason,
                        "objective": f"{target.slo.objective:g}% over "
                        f"{format_span(target.slo.window)}",
                    },
                )
            )
    return out
