"""Import and export OpenSLO v1.

Import maps each ``SLO`` (with its ``SLI``, inline or by ``indicatorRef``) to a roost SLO of its
``spec.service``: ``ratioMetric`` → ``ratio``, ``thresholdMetric`` with an ``lte``/``lt``
objective → ``latency`` under ``value`` seconds; ``target`` 0.999 or ``targetPercent`` 99.9 →
objective 99.9. ``AlertCondition`` burn-rate conditions become alert tiers (long window =
``lookbackWindow``, short = a twelfth of it, as the workbook pairs them). What roost cannot keep
(the metric queries — roost measures at its router; ``Timeslices`` budgeting) is listed in
``warnings``, never dropped silently.

Export writes one ``Service``, and per SLO an ``SLI`` whose queries are PromQL over roost's own
metrics, the ``SLO``, and an ``AlertPolicy`` with one ``AlertCondition`` per tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml
from pydantic import ValidationError

from roost.slo import openslo_models as m
from roost.slo.evaluating import SloTarget
from roost.slo.tiers import DEFAULT_TIERS, AlertTier, Severity, TierError, workbook_tier
from roost.spec.durations import format_span, parse_duration
from roost.spec.slos import LatencySli, RatioSli, Slo
from roost.telemetry.prometheus_source import bad_classes, selector


class OpenSloError(ValueError):
    """An OpenSLO file roost cannot read; the message names the document."""


@dataclass
class Imported:
    """What an OpenSLO file said, in roost's terms."""

    slos: list[SloTarget] = field(default_factory=list)
    tiers: list[AlertTier] = field(default_factory=list)
    services: dict[str, str | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _duration(text: str, where: str) -> timedelta:
    # OpenSLO durations are like 28d, 1h, 5m, 1w; roost's parser has no weeks.
    text = text.strip()
    if text.endswith("w") and text[:-1].isdigit():
        return timedelta(weeks=int(text[:-1]))
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise OpenSloError(f"{where}: {exc}") from None


def load_documents(text: str, *, source: str = "<openslo>") -> list[m._Model]:
    """Parse a (multi-document) YAML file into OpenSLO models."""
    try:
        raw_docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise OpenSloError(f"{source}: not YAML: {str(exc).splitlines()[0]}") from None
    docs: list[m._Model] = []
    for i, raw in enumerate(raw_docs, 1):
        where = f"{source}: document {i}"
        if not isinstance(raw, dict):
            raise OpenSloError(f"{where}: expected a mapping with apiVersion and kind")
        if raw.get("apiVersion") != "openslo/v1":
            raise OpenSloError(
                f"{where}: apiVersion {raw.get('apiVersion')!r} is not supported (openslo/v1)"
            )
        kind = raw.get("kind")
        model = m.KINDS.get(str(kind))
        if model is None:
            raise OpenSloError(f"{where}: kind {kind!r} is not one of {', '.join(m.KINDS)}")
        try:
            docs.append(model.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise OpenSloError(f"{where} ({kind}): {loc}: {first['msg']}") from None
    return docs


def import_openslo(text: str, *, source: str = "<openslo>") -> Imported:
    """Read an OpenSLO v1 file into roost SLOs, tiers and warnings."""
    docs = load_documents(text, source=source)
    out = Imported()
    slis = {d.metadata.name: d.spec for d in docs if isinstance(d, m.SliDoc)}
    conditions = {d.metadata.name: d.spec for d in docs if isinstance(d, m.AlertConditionDoc)}
    for doc in docs:
        if isinstance(doc, m.ServiceDoc):
            out.services[doc.metadata.name] = doc.spec.description
        elif isinstance(doc, m.AlertPolicyDoc):
            for ref in doc.spec.conditions:
                spec = ref.spec if ref.spec is not None else conditions.get(ref.conditionRef or "")
                name = ref.metadata.name if ref.metadata else ref.conditionRef
                if spec is None:
                    raise OpenSloError(
                        f"{source}: AlertPolicy {doc.metadata.name}: unknown "
                        f"condition {ref.conditionRef!r}"
                    )
                out.tiers.append(_tier(str(name), spec, source))
    for doc in docs:
        if isinstance(doc, m.SloDoc):
            out.slos.extend(_slo(doc, slis, out.warnings, source))
            out.services.setdefault(doc.spec.service, None)
    return out


def _tier(name: str, spec: m.AlertConditionSpec, source: str) -> AlertTier:
    cond = spec.condition
    where = f"{source}: AlertCondition {name}"
    if cond.op not in ("gte", "gt"):
        raise OpenSloError(f"{where}: a burn-rate condition must be gte/gt, got {cond.op}")
    long = _duration(cond.lookbackWindow, where)
    severity: Severity = (
        "page" if spec.severity.lower() in ("page", "critical", "high") else "ticket"
    )
    try:
        return workbook_tier(name, severity, burn=cond.threshold, long=long, short=long / 12)
    except TierError as exc:
        raise OpenSloError(f"{where}: {exc}") from None


def _slo(  # noqa: PLR0912 - one branch per OpenSLO shape, read top to bottom
    doc: m.SloDoc, slis: dict[str, m.SliSpec], warnings: list[str], source: str
) -> list[SloTarget]:
    where = f"{source}: SLO {doc.metadata.name}"
    spec = doc.spec
    sli = spec.indicator.spec if spec.indicator is not None else slis.get(spec.indicatorRef or "")
    if sli is None:
        raise OpenSloError(f"{where}: unknown indicatorRef {spec.indicatorRef!r}")
    if not spec.timeWindow:
        raise OpenSloError(f"{where}: timeWindow is missing")
    window = spec.timeWindow[0]
    if not window.isRolling:
        raise OpenSloError(f"{where}: calendar windows are not supported; use isRolling: true")
    if spec.budgetingMethod != "Occurrences":
        warnings.append(f"{where}: {spec.budgetingMethod} budgeting is evaluated as Occurrences")
    warnings.append(f"{where}: metric queries are not imported; roost measures at its router")
    out = []
    for i, objective in enumerate(spec.objectives):
        percent = objective.targetPercent
        if percent is None and objective.target is not None:
            percent = objective.target * 100
        if percent is None:
            raise OpenSloError(f"{where}: objective {i + 1} has no target or targetPercent")
        if not 0 < percent < 100:
            raise OpenSloError(
                f"{where}: objective {percent:g}% must be above 0 and below 100 "
                "(at 100% there is no error budget)"
            )
        raw_sli: dict[str, Any]
        if sli.ratioMetric is not None:
            raw_sli = {"kind": "ratio"}
        elif sli.thresholdMetric is not None:
            if objective.op not in ("lte", "lt") or objective.value is None:
                raise OpenSloError(
                    f"{where}: a thresholdMetric objective needs op lte/lt and "
                    "value (a latency bound in seconds)"
                )
            raw_sli = {"kind": "latency", "threshold": timedelta(seconds=objective.value)}
        else:
            raise OpenSloError(f"{where}: the SLI has neither ratioMetric nor thresholdMetric")
        name = doc.metadata.name if len(spec.objectives) == 1 else f"{doc.metadata.name}-{i + 1}"
        # roost's own export labels the SLO with its roost name (the document name is prefixed
        # with the service to be unique in a file).
        labels = doc.metadata.labels or {}
        if len(spec.objectives) == 1 and isinstance(labels.get("roost_slo"), str):
            name = labels["roost_slo"]
        try:
            slo = Slo.model_validate(
                {
                    "name": name,
                    "description": spec.description,
                    "objective": round(percent, 6),
                    "window": _duration(window.duration, where),
                    "sli": raw_sli,
                }
            )
        except ValidationError as exc:
            raise OpenSloError(f"{where}: {exc.errors()[0]['msg']}") from None
        out.append(SloTarget(spec.service, slo))
    return out


def export_openslo(
    targets: Sequence[SloTarget], *, tiers: Sequence[AlertTier] = DEFAULT_TIERS
) -> str:
    """The OpenSLO v1 documents for ``targets`` as one multi-document YAML file."""
    docs: list[dict[str, Any]] = []
    for service in dict.fromkeys(t.service for t in targets):
        docs.append(
            {
                "apiVersion": "openslo/v1",
                "kind": "Service",
                "metadata": {"name": service},
                "spec": {},
            }
        )
    for t in tiers:
        docs.append(_condition(t))
    for target in targets:
        slo, name = target.slo, f"{target.service}-{target.slo.name}"
        sli = _sli_spec(target)
        if sli is None:
            continue  # probe SLIs have no metric to point OpenSLO at
        docs.append(
            {"apiVersion": "openslo/v1", "kind": "SLI", "metadata": {"name": name}, "spec": sli}
        )
        objective: dict[str, Any] = {
            "displayName": slo.name,
            "target": round(slo.objective / 100, 8),
        }
        if isinstance(slo.sli, LatencySli):
            objective |= {"op": "lte", "value": slo.sli.threshold.total_seconds()}
        docs.append(
            {
                "apiVersion": "openslo/v1",
                "kind": "SLO",
                "metadata": {"name": name, "labels": {"roost_slo": slo.name}},
                "spec": {
                    **({"description": slo.description} if slo.description else {}),
                    "service": target.service,
                    "indicatorRef": name,
                    "timeWindow": [{"duration": format_span(slo.window), "isRolling": True}],
                    "budgetingMethod": "Occurrences",
                    "objectives": [objective],
                    "alertPolicies": [{"alertPolicyRef": f"{name}-burn"}],
                },
            }
        )
        docs.append(
            {
                "apiVersion": "openslo/v1",
                "kind": "AlertPolicy",
                "metadata": {"name": f"{name}-burn"},
                "spec": {
                    "alertWhenBreaching": True,
                    "alertWhenResolved": True,
                    "conditions": [{"conditionRef": t.name} for t in tiers],
                },
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False, width=200)


def _condition(tier: AlertTier) -> dict[str, Any]:
    burn = tier.threshold(timedelta(days=30))
    return {
        "apiVersion": "openslo/v1",
        "kind": "AlertCondition",
        "metadata": {"name": tier.name},
        "spec": {
            "description": f"{burn:.4g}x over {format_span(tier.long)} "
            f"(and {format_span(tier.short)}), "
            "for a 30-day SLO",
            "severity": tier.severity,
            "condition": {
                "kind": "burnrate",
                "op": "gte",
                "threshold": round(burn, 6),
                "lookbackWindow": format_span(tier.long),
                "alertAfter": "0s",
            },
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
