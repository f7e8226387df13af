"""The FastAPI application factory. Routes live one resource per module under ``routes/``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import roost
from roost.api.auth import Authenticator, AuthError
from roost.api.auth.oidc import ProjectOidc
from roost.api.docs import add_docs
from roost.api.limiting import (
    DEFAULT_MAX_BODY_BYTES,
    BodyLimit,
    error_response,
    invalid_request,
)
from roost.api.routes import (
    access,
    audit,
    events,
    health,
    history,
    identity,
    project,
    rollouts,
    services,
    slos,
)
from roost.control.dataplane.agents import AgentRefused, AgentUnavailable
from roost.control.errors import OperationError
from roost.control.releases.releasing import ReleaseError
from roost.control.wiring import Wiring, wire
from roost.control.workspace import Workspace
from roost.store import Ambiguous, Conflict, NotFound, StaleFencingToken, StoreError


def create_app(
    workspace: Workspace,
    *,
    wiring: Wiring | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build the API for an opened workspace. The caller owns (and closes) the workspace;
    ``wiring`` is the control plane ``roost serve`` runs (:func:`roost.control.wiring.wire`;
    default: one without a lease or loop, which applies operations but moves no rollout on by
    itself). A request body larger than ``max_body_bytes`` is refused with a 413 before any
    route reads it. Every ``/api/v1`` route needs a credential (:mod:`roost.api.auth`): a
    roost token from the store, or a JWT from the OIDC issuer roost.yaml names."""
    app = FastAPI(
        title="roost",
        version=roost.__version__,
        summary="A self-hosted delivery loop: release, progressive rollout, watch, rollback.",
        docs_url=None,  # served from the package by add_docs, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    add_docs(app, openapi_url="/openapi.json")
    app.state.workspace = workspace
    parts = wiring if wiring is not None else wire(workspace)
    app.state.plane = parts.plane
    app.state.deployments = parts.deployments
    app.state.rollbacks = parts.rollbacks
    app.state.desired = parts.desired
    app.state.identity_keys = parts.identity_keys
    app.state.issuer = parts.issuer
    app.state.started_at = workspace.clock.now()
    app.state.rollout_scopes = {}  # rollout id -> (environment, service), see roost.api.auth
    app.state.auth = Authenticator(
        workspace.store, clock=workspace.clock, oidc=ProjectOidc(workspace)
    )
    app.include_router(health.router)
    app.include_router(identity.router)
    app.include_router(project.router, prefix="/api/v1")
    app.include_router(history.router, prefix="/api/v1")
    app.include_router(services.router, prefix="/api/v1")
    app.include_router(rollouts.router, prefix="/api/v1")
    app.include_router(slos.router, prefix="/api/v1")
    app.include_router(audit.router, prefix="/api/v1")
    app.include_router(events.router, prefix="/api/v1")
    app.include_router(access.router, prefix="/api/v1")
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)
    app.add_exception_handler(RequestValidationError, invalid_request)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        response = error_response(exc.status, str(exc), exc.hint)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="roost"'
        return response

    # Errors a user can cause answer {"error", "hint"} with a fitting status, never a 500.
    @app.exception_handler(OperationError)
    async def _operation(request: Request, exc: OperationError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.hint)

    @app.exception_handler(ReleaseError)
    async def _release(request: Request, exc: ReleaseError) -> JSONResponse:
        return error_response(400, str(exc), exc.hint)

    @app.exception_handler(AgentUnavailable)
    async def _agent_down(request: Request, exc: AgentUnavailable) -> JSONResponse:
        return error_response(503, str(exc), exc.hint)

    @app.exception_handler(AgentRefused)
    async def _agent_refused(request: Request, exc: AgentRefused) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.hint)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, str(exc), exc.hint)

    @app.exception_handler(Ambiguous)
    async def _ambiguous(request: Request, exc: Ambiguous) -> JSONResponse:
        return error_response(400, str(exc), exc.hint)

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        return error_response(409, str(exc), exc.hint)

    @app.exception_handler(StaleFencingToken)
    async def _stale(request: Request, exc: StaleFencingToken) -> JSONResponse:
        return error_response(409, str(exc), "this control plane lost its lease")

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        # The state store is busy or unreachable: the request can be retried as it is.
        return error_response(503, str(exc), exc.hint)

    return app
