"""SLOs as the control plane evaluates them: the targets of a project, the agent as the SLI
source, one evaluation round, and reports as JSON (what the API answers and the CLI shows).

The agent counts requests per status class and under a latency bound from its embedded store
(``GET /v1/services/{service}/sli``), for every revision the service ever ran there — an SLO is
the service's, whichever revision served a request. The store keeps a week by default, so the
budget of a longer SLO window is computed over the history there is (``roost slo status`` shows
the window as configured).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from roost.slo import CachingSource, Engine, SloReport, SloTarget, UnsupportedSli, slo_tiers
from roost.spec import LatencySli, ProbeSli, Project, RatioSli, Sli
from roost.spec.durations import format_span
from roost.telemetry import CODE_CLASSES
from roost.telemetry.counting import bad_class_indexes

PROBE_CLASSES = "probes"
"""The key of the agent's probe outcome counts in its ``sli`` answer (see :mod:`roost.agent`)."""


class SliCaller(Protocol):
    """The agent call this module needs (``AgentClient.sli_counts``)."""

    def sli_counts(
        self,
        service: str,
        *,
        window: float,
        under: float | None = None,
        revision: str | None = None,
    ) -> dict[str, Any]: ...


def slo_environment(project: Project, service: str) -> str:
    """The environment whose traffic a service's SLOs measure: the first one (in roost.yaml
    order) the service runs in — the one ``roost up`` starts. Environments are boundaries, so
    an SLO never adds up the requests of two of them."""
    names = list(project.environments)
    try:
        spec = project.service(service)
    except KeyError:
        return names[0]
    return next((name for name in names if spec.runs_in(name)), names[0])


class AgentSliSource:
    """An :class:`~roost.slo.SliSource` over the agent's per-class counts; ``revision`` narrows
    it to one revision (a canary's own traffic). ``environment_of(service)`` names the
    environment to ask about (for an agent client that is not scoped to one already)."""

    def __init__(
        self,
        agent: SliCaller,
        *,
        revision: str | None = None,
        environment_of: Callable[[str], str] | None = None,
    ) -> None:
        self._agent = agent
        self._revision = revision
        self._environment_of = environment_of

    def _for(self, service: str) -> SliCaller:
        scoped = getattr(self._agent, "in_environment", None)
        if self._environment_of is None or not callable(scoped):
            return self._agent
        caller: SliCaller = scoped(self._environment_of(service))
        return caller

    def sli_counts(self, service: str, sli: Sli, *, window: timedelta) -> tuple[float, float]:
        seconds = window.total_seconds()
        if isinstance(sli, ProbeSli):
            if self._revision is not None:
                # The agent probes the service's listener, not one revision.
                raise UnsupportedSli("probe SLIs measure the whole service, not one revision")
            data = self._for(service).sli_counts(service, window=seconds)
            probes = data.get(PROBE_CLASSES)
            paths = probes.get("paths") if isinstance(probes, Mapping) else None
            if isinstance(paths, Mapping):  # per path: two probe SLOs may probe two paths
                probes = paths.get(sli.path)
            if not isinstance(probes, Mapping):
                raise UnsupportedSli(
                    f"no probe results yet for {service} {sli.path} (the agent probes a "
                    "service with a probe SLI once it listens and runs a revision)"
                )
            return float(probes.get("good") or 0), float(probes.get("total") or 0)
        under = sli.threshold.total_seconds() if isinstance(sli, LatencySli) else None
        data = self._for(service).sli_counts(
            service, window=seconds, under=under, revision=self._revision
        )
        total = float(data.get("total") or 0)
        if isinstance(sli, RatioSli):
            classes = data.get("classes") or {}
            bad = sum(
                float(classes.get(CODE_CLASSES[i]) or 0) for i in bad_class_indexes(sli.bad_status)
            )
            return max(0.0, total - bad), total
        return float(data.get("under") or 0), total

    def __repr__(self) -> str:
        return f"AgentSliSource({self._agent!r}, revision={self._revision!r})"


def project_targets(project: Project, *, service: str | None = None) -> list[SloTarget]:
    """Every SLO of ``project`` (of ``service`` only, when given), in roost.yaml order."""
    return [
        SloTarget(s.name, slo)
        for s in project.services
        if service is None or s.name == service
        for slo in s.slos
    ]


def engine_for(target: SloTarget) -> Engine:
    """The engine with ``target``'s own tiers (roost.yaml ``alerts``, else the workbook's)."""
    return Engine(tiers=slo_tiers(target.slo))


def evaluate(targets: Iterable[SloTarget], source: Any, *, now: datetime) -> list[SloReport]:
    """One round: every target with its own tiers; SLOs that share an SLI and a window ask the
    source once; a failing SLO has its ``error`` and the others go on."""
    cached = CachingSource(source)
    return [engine_for(t).evaluate(t, cached, now=now) for t in targets]


def report_json(
    report: SloReport, *, since: Mapping[tuple[str, str, str], datetime] | None = None
) -> dict[str, Any]:
    """A report as the API answers it: plain JSON, durations in seconds and as ``1h`` text."""
    target, slo = report.target, report.target.slo
    since = since or {}
    tiers = []
    for state in report.tiers:
        tier = state.tier
        started = since.get((target.service, slo.name, tier.name)) if state.firing else None
        tiers.append(
            {
                "name": tier.name,
                "severity": tier.severity,
                "threshold": state.threshold,
                "long_window": format_span(tier.long),
                "short_window": format_span(tier.short),
                "long_burn": state.long_burn,
                "short_burn": state.short_burn,
                "firing": state.firing,
                "since": None if started is None else started.isoformat(),
                "reason": state.reason,
            }
        )
    return {
        "service": target.service,
        "slo": slo.name,
        "description": slo.description,
        "objective": slo.objective,
        "window": format_span(slo.window),
        "sli_kind": slo.sli.kind,
        "at": report.at.isoformat(),
        "sli": report.sli,
        "error_budget": report.budget,
        "budget_remaining": report.budget_remaining,
        "exhaustion_seconds": (
            None if report.exhaustion is None else report.exhaustion.total_seconds()
        ),
        "burns": [
            {
                "window": format_span(b.window),
                "good": b.counts.good,
                "total": b.counts.total,
                "burn": b.burn,
            }
            for b in report.burns
        ],
        "tiers": tiers,
        "firing": [t["name"] for t in tiers if t["firing"]],
        "error": report.error,
    }


def find(reports: Sequence[SloReport], service: str, name: str) -> SloReport | None:
    """The report of ``service``/``name``, if any."""
    for report in reports:
        if report.target.service == service and report.target.slo.name == name:
            return report
    return None
