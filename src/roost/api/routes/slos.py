"""SLOs and alerts: the latest evaluation of every SLO, and the alerts that fire.

The control plane's SLO loop (:mod:`roost.control.slos.watching`) evaluates every few seconds;
these routes answer from its latest round (or evaluate now when no loop runs).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from roost.api.routes._deps import Reader
from roost.control.errors import OperationError
from roost.control.operations.plane import ControlPlane
from roost.control.slos.reports import find, report_json
from roost.control.slos.watching import SloWatcher

router = APIRouter(tags=["slos"])


def _watcher(request: Request) -> SloWatcher:
    plane: ControlPlane = request.app.state.plane
    return plane.slos


def _known_service(request: Request, service: str) -> None:
    project = request.app.state.plane.ws.project
    names = [s.name for s in project.services]
    if service not in names:
        raise OperationError(
            f"no service {service!r} in roost.yaml", status=404, hint=", ".join(names) or None
        )


@router.get("/slos")
def list_slos(request: Request, _: Reader, service: str | None = None) -> dict[str, Any]:
    """Every SLO's latest report (``service`` narrows it): objective, SLI now, budget remaining,
    burn rate per window, time to exhaustion, tiers and which of them fire."""
    if service is not None:
        _known_service(request, service)
    watcher = _watcher(request)
    at, reports = watcher.reports()
    since = watcher.since()
    chosen = [r for r in reports if service is None or r.target.service == service]
    return {"at": at.isoformat(), "slos": [report_json(r, since=since) for r in chosen]}


@router.get("/slos/{service}/{name}", responses={404: {}})
def get_slo(request: Request, principal: Reader, service: str, name: str) -> dict[str, Any]:
    """One SLO's latest report."""
    _known_service(request, service)
    watcher = _watcher(request)
    _, reports = watcher.reports()
    report = find(reports, service, name)
    if report is None:
        slos = [s.name for s in watcher.ws.project.service(service).slos]
        raise OperationError(
            f"service {service!r} has no SLO {name!r}",
            status=404,
            hint=", ".join(slos) if slos else "it has no slos in roost.yaml",
        )
    return report_json(report, since=watcher.since())


@router.get("/alerts", tags=["alerts"])
def list_alerts(request: Request, _: Reader) -> dict[str, Any]:
    """The alerts firing now (tier, since when, which silences mute them) and the silences."""
    watcher = _watcher(request)
    at, reports = watcher.reports()
    firing = watcher.firing(reports)
    now = watcher.ws.clock.now()
    return {
        "at": at.isoformat(),
        "alerts": [a.to_json() for a in firing],
        "silences": [s.to_json() | {"active": s.active(now)} for s in watcher.silences()],
        "errors": [r.error for r in reports if r.error is not None],
        "receivers": watcher.receivers(),
    }
