"""What the agent answers, as plain JSON-able data: a revision as ``roost ps`` shows it, and the
SLO engine's per-class request counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roost.runtime import RevisionStatus
from roost.telemetry import CODE_CLASSES, TimeSeriesStore
from roost.telemetry.counting import WindowCounts


def sli_answer(
    environment: str,
    series: TimeSeriesStore | None,
    service: str,
    *,
    window: timedelta,
    under: float | None = None,
    revision: str | None = None,
) -> dict[str, Any]:
    """The SLO engine's counts from ``series`` (None: an environment with nothing here, so no
    requests at all)."""
    revisions = [] if series is None else series.revisions(service)
    if revision is not None:
        revisions = [r for r in revisions if r == revision]
    total = WindowCounts(under=None if under is None else 0)
    for name in revisions:
        assert series is not None
        total += series.window_counts(service, name, window=window, under=under)
    return {
        "environment": environment,
        "window_seconds": window.total_seconds(),
        "revisions": revisions,
        "classes": dict(zip(CODE_CLASSES, total.classes, strict=True)),
        "total": total.total,
        "under": total.under,
    }


def revision_json(status: RevisionStatus) -> dict[str, Any]:
    replicas = []
    for r in status.replicas:
        term = r.last_termination
        replicas.append(
            {
                "index": r.index,
                "state": str(r.state),
                "ready": r.ready,
                "port": r.port,
                "pid": r.pid,
                "restarts": r.restarts,
                "adopted": r.adopted,
                "message": r.message,
                "last_exit": None if term is None else term.describe(),
                "log_tail": [] if term is None else list(term.log_tail[-5:]),
                "probes": [
                    {"kind": p.kind, "passing": p.passing, "message": p.last_message}
                    for p in r.probes
                ],
            }
        )
    return {
        "revision": status.revision,
        "phase": status.phase,
        "desired_replicas": status.desired_replicas,
        "ready_replicas": status.ready_replicas,
        "replicas": replicas,
    }
