"""Import and export OpenSLO v1.

Import maps each ``SLO`` (with its ``SLI``, inline or by ``indicatorRef``) to a roost SLO of its
``spec.service``: ``ratioMetric`` → ``ratio``, ``thresholdMetric`` with an ``lte``/``lt``
objective → ``latency`` under ``value`` (in the unit the metric names, see
:func:`threshold_unit`); ``target`` 0.999 or ``targetPercent`` 99.9 → objective 99.9. The
burn-rate ``AlertCondition``\\ s of the SLO's own ``alertPolicies`` become that SLO's alert tiers
(long window = ``lookbackWindow``, short = a twelfth of it, as the workbook pairs them). What
roost cannot keep (the metric queries — roost measures at its router; ``Timeslices`` budgeting;
``alertAfter``) is listed in ``warnings``, never dropped silently.

A file may hold YAML documents separated by ``---``, a YAML list of objects (the form ``oslo``
and the Go SDK accept), or both. Export lives in :mod:`roost.slo.openslo_export`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from roost.slo import openslo_models as m
from roost.slo.evaluating import SloTarget
from roost.slo.openslo_durations import read_shorthand
from roost.slo.openslo_export import export_openslo
from roost.slo.tiers import DEFAULT_TIERS, AlertTier, Severity, TierError, workbook_tier
from roost.spec.slos import Slo

__all__ = [
    "Imported",
    "OpenSloError",
    "ThresholdUnit",
    "export_openslo",
    "import_openslo",
    "load_documents",
    "threshold_unit",
]

ThresholdUnit = Literal["s", "ms"]

_UNIT_SECONDS: dict[str, float] = {"s": 1.0, "ms": 0.001}

# Prometheus names carry their unit (``http_request_duration_seconds``, ``…_milliseconds``);
# that is the only unit a thresholdMetric states, since OpenSLO itself gives ``value`` none.
_UNIT_IN_QUERY: tuple[tuple[ThresholdUnit, re.Pattern[str]], ...] = (
    ("s", re.compile(r"_seconds(?![a-z])")),
    ("ms", re.compile(r"_(?:milliseconds|millis|ms)(?![a-z])")),
)


class OpenSloError(ValueError):
    """An OpenSLO file roost cannot read; the message names the document."""


@dataclass
class Imported:
    """What an OpenSLO file said, in roost's terms. Each SLO carries its own alert tiers (in
    ``slo.alerts``; None when they are roost's defaults); ``tiers`` lists every condition."""

    slos: list[SloTarget] = field(default_factory=list)
    tiers: list[AlertTier] = field(default_factory=list)
    services: dict[str, str | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _duration(text: str, where: str, warnings: list[str] | None = None) -> timedelta:
    try:
        value, note = read_shorthand(text)
    except ValueError as exc:
        raise OpenSloError(f"{where}: {exc}") from None
    if note is not None and warnings is not None:
        warnings.append(f"{where}: {note}")
    return value


def _objects(raw_docs: list[Any]) -> Iterator[Any]:
    for raw in raw_docs:
        if isinstance(raw, list):
            yield from raw
        else:
            yield raw


def load_documents(text: str, *, source: str = "<openslo>") -> list[m._Model]:
    """Parse a (multi-document, or list-of-objects) YAML file into OpenSLO models."""
    try:
        raw_docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise OpenSloError(f"{source}: not YAML: {str(exc).splitlines()[0]}") from None
    docs: list[m._Model] = []
    for i, raw in enumerate(_objects(raw_docs), 1):
        where = f"{source}: object {i}"
        if not isinstance(raw, dict):
            raise OpenSloError(
                f"{where}: expected a mapping with apiVersion and kind (or a list of such mappings)"
            )
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


def import_openslo(
    text: str, *, source: str = "<openslo>", unit: ThresholdUnit | None = None
) -> Imported:
    """Read an OpenSLO v1 file into roost SLOs (with their alert tiers) and warnings.

    ``unit`` is the unit of ``thresholdMetric`` objective values when the metric does not name
    one. A file without any SLO is refused: it would import as nothing.
    """
    docs = load_documents(text, source=source)
    slo_docs = [d for d in docs if isinstance(d, m.SloDoc)]
    if not slo_docs:
        raise OpenSloError(f"{source}: no SLO here (found {_found(docs)}); nothing to import")
    ctx = _Context(source, docs)
    out = Imported(warnings=ctx.warnings)
    for doc in docs:
        if isinstance(doc, m.ServiceDoc):
            out.services[doc.metadata.name] = doc.spec.description
    for doc in slo_docs:
        out.slos.extend(_slo(doc, ctx, unit))
        out.services.setdefault(doc.spec.service, None)
    out.tiers = list(ctx.all_tiers.values())
    # Policies are read once to refuse a broken one early and again per SLO that uses them.
    out.warnings = list(dict.fromkeys(ctx.warnings))
    return out


def _found(docs: Sequence[m._Model]) -> str:
    by_kind: dict[str, list[str]] = {}
    for doc in docs:
        kind = str(getattr(doc, "kind", "?"))
        metadata = getattr(doc, "metadata", None)
        by_kind.setdefault(kind, []).append(str(getattr(metadata, "name", "?")))
    if not by_kind:
        return "no objects"
    return ", ".join(f"{len(names)} {kind} ({', '.join(names)})" for kind, names in by_kind.items())


class _Context:
    """The file's named objects, for references, and the warnings gathered so far."""

    def __init__(self, source: str, docs: Sequence[m._Model]) -> None:
        self.source = source
        self.warnings: list[str] = []
        self.slis = {d.metadata.name: d.spec for d in docs if isinstance(d, m.SliDoc)}
        self.conditions = {d.metadata.name: d for d in docs if isinstance(d, m.AlertConditionDoc)}
        self.policies = {d.metadata.name: d.spec for d in docs if isinstance(d, m.AlertPolicyDoc)}
        self.all_tiers: dict[tuple[str, AlertTier], AlertTier] = {}
        for name, spec in self.policies.items():
            self.policy_tiers(f"AlertPolicy {name}", spec)  # refused early when broken

    def policy_tiers(self, where: str, spec: m.AlertPolicySpec) -> list[AlertTier]:
        tiers = []
        for ref in spec.conditions:
            if ref.spec is not None:
                name = ref.metadata.name if ref.metadata else "inline"
                labels = (ref.metadata.labels if ref.metadata else None) or {}
                tiers.append(self.tier(name, labels, ref.spec))
                continue
            doc = self.conditions.get(ref.conditionRef or "")
            if doc is None:
                raise OpenSloError(
                    f"{self.source}: {where}: unknown condition {ref.conditionRef!r}"
                )
            tiers.append(self.tier(doc.metadata.name, doc.metadata.labels or {}, doc.spec))
        return tiers

    def tier(self, name: str, labels: dict[str, Any], spec: m.AlertConditionSpec) -> AlertTier:
        cond = spec.condition
        where = f"{self.source}: AlertCondition {name}"
        if cond.op not in ("gte", "gt"):
            raise OpenSloError(f"{where}: a burn-rate condition must be gte/gt, got {cond.op}")
        long = _duration(cond.lookbackWindow, where, self.warnings)
        if cond.alertAfter is not None and _duration(cond.alertAfter, where) > timedelta(0):
            self.warnings.append(
                f"{where}: alertAfter {cond.alertAfter} is not kept; roost fires once the burn "
                "shows over both the long and the short window"
            )
        severity: Severity = (
            "page" if spec.severity.lower() in ("page", "critical", "high") else "ticket"
        )
        # roost's own export prefixes an SLO's own conditions to keep names unique in a file;
        # the label keeps the tier's name.
        tier_name = labels.get("roost_tier") if isinstance(labels.get("roost_tier"), str) else name
        try:
            tier = workbook_tier(
                str(tier_name), severity, burn=cond.threshold, long=long, short=long / 12
            )
        except TierError as exc:
            raise OpenSloError(f"{where}: {exc}") from None
        self.all_tiers.setdefault((name, tier), tier)
        return tier

    def slo_tiers(self, doc: m.SloDoc, where: str) -> list[AlertTier] | None:
        if not doc.spec.alertPolicies:
            return None
        tiers: list[AlertTier] = []
        for ref in doc.spec.alertPolicies:
            if ref.spec is not None:
                name = ref.metadata.name if ref.metadata else "inline"
                tiers += self.policy_tiers(f"{where}: AlertPolicy {name}", ref.spec)
                continue
            spec = self.policies.get(ref.alertPolicyRef or "")
            if spec is None:
                raise OpenSloError(f"{where}: unknown alertPolicyRef {ref.alertPolicyRef!r}")
            tiers += self.policy_tiers(f"AlertPolicy {ref.alertPolicyRef}", spec)
        return tiers


def threshold_unit(sli: m.SliSpec) -> ThresholdUnit | None:
    """The unit a ``thresholdMetric``'s source names (``…_seconds`` → s), or None when it names
    none or more than one."""
    holder = sli.thresholdMetric
    if holder is None:
        return None
    text = " ".join(str(v) for v in holder.metricSource.spec.values())
    found = {unit for unit, pattern in _UNIT_IN_QUERY if pattern.search(text)}
    return found.pop() if len(found) == 1 else None


def _same_as_defaults(tiers: Sequence[AlertTier]) -> bool:
    return len(tiers) == len(DEFAULT_TIERS) and all(
        (a.name, a.severity, a.long, a.short) == (b.name, b.severity, b.long, b.short)
        and math.isclose(a.budget_spent, b.budget_spent, rel_tol=1e-6)
        for a, b in zip(tiers, DEFAULT_TIERS, strict=True)
    )


def _alerts(
    tiers: list[AlertTier] | None, window: timedelta, where: str, warnings: list[str]
) -> list[dict[str, Any]] | None:
    if tiers is None:
        warnings.append(f"{where}: no alertPolicies; roost applies its default burn-rate alerts")
        return None
    if _same_as_defaults(tiers):
        return None
    alerts = []
    for tier in tiers:
        if tier.long > window:
            warnings.append(
                f"{where}: alert condition {tier.name} looks back further than the SLO window; "
                "left out"
            )
            continue
        alerts.append(
            {
                "name": tier.name,
                "severity": tier.severity,
                "burn_rate": round(tier.threshold(window), 4),
                "long_window": tier.long,
                "short_window": tier.short,
            }
        )
    return alerts or None


def _objective_percent(objective: m.Objective, where: str, i: int) -> float:
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
    return percent


def _raw_sli(
    sli: m.SliSpec, objective: m.Objective, where: str, unit: ThresholdUnit | None
) -> dict[str, Any]:
    if sli.ratioMetric is not None:
        return {"kind": "ratio"}
    if sli.thresholdMetric is None:
        raise OpenSloError(f"{where}: the SLI has neither ratioMetric nor thresholdMetric")
    if objective.op not in ("lte", "lt") or objective.value is None:
        raise OpenSloError(
            f"{where}: a thresholdMetric objective needs op lte/lt and a value (a latency bound)"
        )
    named = threshold_unit(sli)
    chosen = named or unit
    if chosen is None:
        raise OpenSloError(
            f"{where}: thresholdMetric value {objective.value:g} has no unit (OpenSLO gives "
            "it none and the metric's name says neither _seconds nor _milliseconds); "
            "say which with --threshold-unit s or ms"
        )
    if named is not None and unit is not None and named != unit:
        raise OpenSloError(
            f"{where}: the metric is in {named} but --threshold-unit says {unit}; "
            "leave the option out or fix the query"
        )
    seconds = objective.value * _UNIT_SECONDS[chosen]
    return {"kind": "latency", "threshold": timedelta(seconds=seconds)}


def _slo(doc: m.SloDoc, ctx: _Context, unit: ThresholdUnit | None) -> list[SloTarget]:
    where = f"{ctx.source}: SLO {doc.metadata.name}"
    spec = doc.spec
    sli = (
        spec.indicator.spec if spec.indicator is not None else ctx.slis.get(spec.indicatorRef or "")
    )
    if sli is None:
        raise OpenSloError(f"{where}: unknown indicatorRef {spec.indicatorRef!r}")
    if not spec.timeWindow:
        raise OpenSloError(f"{where}: timeWindow is missing")
    window = spec.timeWindow[0]
    if not window.isRolling or window.calendar is not None:
        raise OpenSloError(f"{where}: calendar windows are not supported; use isRolling: true")
    length = _duration(window.duration, where, ctx.warnings)
    if spec.budgetingMethod != "Occurrences":
        ctx.warnings.append(
            f"{where}: {spec.budgetingMethod} budgeting is evaluated as Occurrences"
        )
    ctx.warnings.append(f"{where}: metric queries are not imported; roost measures at its router")
    alerts = _alerts(ctx.slo_tiers(doc, where), length, where, ctx.warnings)
    out = []
    for i, objective in enumerate(spec.objectives):
        percent = _objective_percent(objective, where, i)
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
                    "window": length,
                    "sli": _raw_sli(sli, objective, where, unit),
                    "alerts": alerts,
                }
            )
        except ValidationError as exc:
            raise OpenSloError(f"{where}: {exc.errors()[0]['msg']}") from None
        out.append(SloTarget(spec.service, slo))
    return out
