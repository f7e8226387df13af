"""The FastAPI application factory. Routes live one resource per module under ``routes/``."""

from __future__ import annotations

from fastapi import FastAPI

import roost
from roost.api.routes import health, history, project
from roost.control.workspace import Workspace


def create_app(workspace: Workspace) -> FastAPI:
    """Build the API for an opened workspace. The caller owns (and closes) the workspace."""
    app = FastAPI(
        title="roost",
        version=roost.__version__,
        summary="A self-hosted delivery loop: release, progressive rollout, watch, rollback.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.workspace = workspace
    app.state.started_at = workspace.clock.now()
    app.include_router(health.router)
    app.include_router(project.router, prefix="/api/v1")
    app.include_router(history.router, prefix="/api/v1")
    return app
