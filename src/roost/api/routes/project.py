"""What this roost serves: ``/api/v1/status`` (a summary) and ``/api/v1/project`` (roost.yaml)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

import roost
from roost.api.routes._deps import WorkspaceDep

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
def status(ws: WorkspaceDep, request: Request) -> Status:
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
def project(ws: WorkspaceDep) -> dict[str, Any]:
    """The validated roost.yaml this API serves, as JSON."""
    return ws.project.model_dump(mode="json", by_alias=True)
