"""The event bus: the dead-letter queue (list, show, replay, purge), the trace of a chain,
the triggers and their loop-guard suspensions, and the bus's Prometheus metrics.

Replay and purge change what will be delivered, so each records an event with its actor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from roost._util import event_catalog as catalog
from roost.api.inputs import IdPath, ServicePath
from roost.api.routes._deps import ProjectOperator, Reader, WorkspaceDep
from roost.control.errors import OperationError
from roost.control.workspace import Workspace
from roost.events import metrics
from roost.events.bus import BusError
from roost.events.opening import lags
from roost.events.tracing import trace
from roost.store.deliveries import DEAD, DeliveryRecord

router = APIRouter(tags=["events"])

TriggerQuery = Annotated[
    str | None,
    Query(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", description="Only this trigger."),
]


class DlqSelection(BaseModel):
    """Which dead deliveries: ``ids`` (or unique leading parts), or ``all`` (of ``trigger``)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,40}$")]] = Field(
        default_factory=list, max_length=1000
    )
    trigger: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")] | None = None
    all: bool = False


def _summary(d: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "trigger": d.trigger,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "state": d.state,
        "attempts": d.attempts,
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
        "last_error": d.last_error,
        "correlation_id": d.correlation_id,
    }


@router.get("/events/dlq")
def dlq_list(
    ws: WorkspaceDep,
    _: Reader,
    trigger: TriggerQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Dead deliveries, oldest first."""
    found = ws.store.deliveries.list(state=DEAD, trigger=trigger, limit=limit)
    return {"deliveries": [_summary(d) for d in found]}


@router.get("/events/dlq/{delivery_id}")
def dlq_show(ws: WorkspaceDep, _: Reader, delivery_id: IdPath) -> dict[str, Any]:
    """One delivery (dead or not): the event, every attempt and the last error."""
    d = ws.store.deliveries.find(delivery_id)
    attempts = [
        {
            "attempt": a.attempt,
            "at": a.started_at.isoformat(),
            "ok": a.ok,
            "status": a.status,
            "duration_ms": round(a.duration_ms, 1),
            "detail": a.detail,
        }
        for a in ws.store.deliveries.attempts(d.id)
    ]
    return {**_summary(d), "event": d.envelope, "attempt_log": attempts}


def _resolve(ws: Workspace, body: DlqSelection) -> list[str]:
    if not body.ids and not body.all:
        raise OperationError(
            "name the dead deliveries (ids) or pass all",
            status=400,
            hint="`roost events dlq list` shows them; --all takes every one (of --trigger)",
        )
    return [ws.store.deliveries.find(text).id for text in body.ids]


def _record(
    ws: Workspace, kind: str, body: DlqSelection, ids: list[str], count: int, actor: str
) -> None:
    """Audit a replay or purge that touched something (who, which deliveries, how many)."""
    if count:
        ws.store.events.append(
            kind,
            source=catalog.SOURCE_EVENTS,
            subject=body.trigger,
            data={"deliveries": ids or "all", "count": count},
            actor=actor,
        )


@router.post("/events/dlq/replay")
def dlq_replay(ws: WorkspaceDep, principal: ProjectOperator, body: DlqSelection) -> dict[str, Any]:
    """Deliver dead deliveries again, with a fresh retry budget."""
    ids = _resolve(ws, body)
    count = ws.store.deliveries.replay(ids, trigger=body.trigger)
    _record(ws, catalog.DLQ_REPLAYED, body, ids, count, principal.actor)
    return {"replayed": count}


@router.post("/events/dlq/purge")
def dlq_purge(ws: WorkspaceDep, principal: ProjectOperator, body: DlqSelection) -> dict[str, Any]:
    """Delete dead deliveries for good."""
    ids = _resolve(ws, body)
    count = ws.store.deliveries.purge(ids, trigger=body.trigger)
    _record(ws, catalog.DLQ_PURGED, body, ids, count, principal.actor)
    return {"purged": count}


@router.get("/events/trace/{event_id}")
def events_trace(ws: WorkspaceDep, _: Reader, event_id: IdPath) -> dict[str, Any]:
    """The chain of the event: its deliveries, their attempts, the events they caused, ..."""
    return trace(ws.store, event_id)


@router.get("/events/triggers")
def triggers_list(ws: WorkspaceDep, _: Reader) -> dict[str, Any]:
    """roost.yaml's triggers, their deliveries by state and their suspensions."""
    counts = ws.store.deliveries.counts()
    suspended = ws.store.deliveries.suspended()
    return {
        "triggers": [
            {
                "name": t.name,
                "sink": t.sink_kind,
                "suspended": t.name in suspended,
                "reason": suspended[t.name].reason if t.name in suspended else None,
                "deliveries": {s: n for (name, s), n in counts.items() if name == t.name},
            }
            for t in ws.project.triggers
        ]
    }


class Resume(BaseModel):
    """Nothing but who resumes it, which the credential says."""

    model_config = ConfigDict(extra="forbid")


@router.post("/events/triggers/{trigger}/resume")
def trigger_resume(
    ws: WorkspaceDep, principal: ProjectOperator, trigger: ServicePath, body: Resume
) -> dict[str, Any]:
    """Lift a loop guard's suspension: the trigger takes its waiting events again."""
    try:
        ws.project.trigger(trigger)
    except KeyError:
        raise OperationError(
            f"no trigger {trigger!r} in roost.yaml", status=404, hint="`roost events triggers`"
        ) from None
    resumed = ws.store.deliveries.resume(trigger)
    if resumed:
        ws.store.events.append(
            catalog.TRIGGER_RESUMED,
            source=catalog.SOURCE_EVENTS,
            subject=trigger,
            data={"trigger": trigger},
            actor=principal.actor,
        )
    return {"trigger": trigger, "resumed": resumed}


@router.get("/events/metrics", response_class=Response)
def events_metrics(ws: WorkspaceDep, _: Reader) -> Response:
    """Backlog per trigger, consumer lag, DLQ depth, deliveries by state (Prometheus text)."""
    names = [t.name for t in ws.project.triggers]
    spec = ws.project.event_bus
    try:
        found, relay_lag = lags(spec, ws.store, names)
    except BusError:
        found, relay_lag = {}, None  # the bus is down: the store's half still tells a lot
    body = metrics.render(ws.store, names, bus=spec.backend, lags=found, relay_lag=relay_lag)
    return Response(body, media_type=metrics.CONTENT_TYPE)
