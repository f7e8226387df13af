"""Liveness and readiness: ``/healthz`` never touches the database, ``/readyz`` does."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import roost
from roost.api.routes._deps import WorkspaceDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


@router.get("/healthz")
def healthz() -> Health:
    """The API process is up (cheap; for supervisors and load balancers)."""
    return Health(status="ok", version=roost.__version__)


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(ws: WorkspaceDep) -> JSONResponse:
    """The API can reach its state store."""
    try:
        ws.store.ping()
    except Exception:  # any store failure means "not ready"; the body says so
        return JSONResponse({"status": "store unreachable", "version": roost.__version__}, 503)
    return JSONResponse({"status": "ok", "version": roost.__version__})
