"""What this roost serves: ``/api/v1/status`` (a summary), ``/api/v1/project`` (roost.yaml) and
``/api/v1/apply`` (re-read roost.yaml and apply it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

import roost
from roost.api.inputs import RequestBody
from roost.api.routes._deps import Applier, Reader, WorkspaceDep
from roost.control.errors import OperationError
from roost.control.operations.desired import DesiredState
from roost.spec import SpecError

router = APIRouter(tags=["project"])


class DatabaseInfo(BaseModel):
    url: str
    dialect: str
    schema_revision: str | None


class ServiceSummary(BaseModel):
    name: str
    latest_release: str | None
    active_rollouts: int


class Status(BaseModel):
    version: str
    project: str
    project_file: str
    started_at: datetime
    now: datetime
    database: DatabaseInfo
    environments: list[str]
    services: list[ServiceSummary]
    leases: int
    events: int


@router.get("/status")
def status(ws: WorkspaceDep, _: Reader, request: Request) -> Status:
    """A one-screen summary of the project and its state, as ``roost status`` shows it."""
    store = ws.store
    services = []
    for svc in ws.project.services:
        latest = store.releases.latest(svc.name)
        active = store.rollouts.list(service=svc.name, active_only=True)
        services.append(
            ServiceSummary(
                name=svc.name,
                latest_release=latest.id if latest else None,
                active_rollouts=len(active),
            )
        )
    return Status(
        version=roost.__version__,
        project=ws.project.project,
        project_file=ws.project_file.name,
        started_at=request.app.state.started_at,
        now=ws.clock.now(),
        database=DatabaseInfo(
            url=store.url, dialect=store.dialect, schema_revision=store.schema_revision
        ),
        environments=list(ws.project.environments),
        services=services,
        leases=len(store.leases.list()),
        events=store.events.count(),
    )


@router.get("/project")
def project(ws: WorkspaceDep, _: Reader) -> dict[str, Any]:
    """The validated roost.yaml this API serves, as JSON."""
    return ws.project.model_dump(mode="json", by_alias=True)


class ApplyRequest(RequestBody):
    """Nothing but who applies, which the credential says."""


class AppliedProject(BaseModel):
    digest: str
    applied_by: str | None
    applied_at: datetime | None
    plan: dict[str, Any]


@router.post("/apply")
def apply(principal: Applier, request: Request, body: ApplyRequest | None = None) -> AppliedProject:
    """Re-read roost.yaml, validate all of it and apply it: the plan against the project applied
    last, then the switch. An invalid file is refused (422) with its first located problem and
    changes nothing."""
    desired: DesiredState = request.app.state.desired
    try:
        applied = desired.apply(actor=principal.actor)
    except SpecError as exc:
        first = exc.problems[0].format() if exc.problems else str(exc)
        more = len(exc.problems) - 1
        hint = "`roost validate` lists every problem" + (f" ({more} more)" if more > 0 else "")
        raise OperationError(f"roost.yaml is invalid: {first}", status=422, hint=hint) from None
    record = applied.record
    return AppliedProject(
        digest=applied.digest,
        applied_by=record.applied_by if record is not None else None,
        applied_at=record.applied_at if record is not None else None,
        plan=applied.plan.to_json(),
    )
