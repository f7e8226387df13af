"""The agent's HTTP API: what the control plane calls, and ``/metrics`` for Prometheus.

The agent obeys only its control plane. It listens on 127.0.0.1 (not reachable from other
machines; a TCP port, because Prometheus scrapes ``/metrics`` and the supervisor hands the
listening socket from one agent generation to the next), where any local user can connect; so:

* **Every call carries the agent's credential** (``Authorization: Bearer``, derived from
  ``agent.key``, 0600, see :mod:`roost._util.agentkeys`), except ``/healthz`` and ``/metrics``,
  which only read and reveal nothing secret (a version; request counts and latencies per
  revision). The check is a middleware in front of every route, so a route added later is
  protected without a word: only :data:`PUBLIC_PATHS` are not. No credential: 401.
* **A fencing token must be signed by the control plane** (``fence``: an expiry and an HMAC
  over environment, service, token and expiry with the fence key). A token without a valid,
  unexpired signature is refused with 403 and never reaches the router or ``routes.json``: a
  forged high token would otherwise lock every later leader out.

A new call is a route here (nothing more to protect it), a method on
:class:`~roost.control.dataplane.agents.AgentClient` (which sends the credential on every call),
on the ``AgentApi`` protocol and on the fake.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

import roost
from roost._util.agentkeys import FENCE_MAX_AHEAD
from roost.agent.hosting import ENVIRONMENT_PATTERN, Agent, AgentError
from roost.runtime import RevisionConflictError, RevisionNotFoundError, RevisionSpec
from roost.runtime.logquery import LogQueryError, query_logs
from roost.telemetry import CONTENT_TYPE

ENV = "/v1/environments/{environment}"
"""Every call about services names its environment: environments are boundaries."""

Environment = Annotated[
    str, Path(pattern=ENVIRONMENT_PATTERN, description="The environment (as in roost.yaml).")
]


class Listener(BaseModel):
    port: int = Field(default=0, ge=0, le=65535, description="0: any free port.")


class Scale(BaseModel):
    replicas: int = Field(ge=0, le=1000)


class FenceSignature(BaseModel):
    """The control plane's signature on a fencing token (see :mod:`roost._util.agentkeys`)."""

    expires: int = Field(ge=0, description="Unix time after which the signature is void.")
    signature: str = Field(min_length=1, max_length=128)


class Weights(BaseModel):
    weights: dict[str, Annotated[int, Field(ge=0, le=100)]]
    fencing_token: int | None = Field(default=None, ge=1, le=2**63 - 1)
    fence: FenceSignature | None = Field(
        default=None, description="Required with a fencing token: the control plane's signature."
    )


PUBLIC_PATHS = frozenset({"/healthz", "/metrics"})
"""What answers without the credential: reads that reveal nothing secret."""


class RequireCredential:
    """ASGI middleware: every request but :data:`PUBLIC_PATHS` carries the agent's credential,
    or gets 401 before any route sees it."""

    def __init__(self, app: ASGIApp, *, agent: Agent) -> None:
        self.app = app
        self.agent = agent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if self.agent.keys.authorizes(header):
            await self.app(scope, receive, send)
            return
        body = {
            "error": "the agent obeys only its control plane: "
            + ("wrong credential" if header else "this call needs the agent's credential"),
            "hint": "run roost as the project's owner: the control plane and the CLI read the "
            "credential from the agent's key file (.roost/agent/agent.key, mode 0600)",
        }
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="roost-agent"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def check_fence(agent: Agent, environment: str, service: str, body: Weights) -> None:
    """Refuse (403) a fencing token the control plane did not sign for this weight change,
    or whose signature has expired; no token at all is for the router to judge."""
    token = body.fencing_token
    if token is None:
        return
    now = int(agent.clock.now().timestamp())
    fence = body.fence
    if fence is None or not agent.keys.fence_signed(
        fence.signature,
        environment=environment,
        service=service,
        token=token,
        expires=fence.expires,
    ):
        raise AgentError(
            f"fencing token {token} is not signed by this agent's control plane; refused, "
            "the router keeps its token",
            status=403,
            hint="weights move through the control plane (`roost weights`), which signs the "
            "token of the lease it holds",
        )
    if not now <= fence.expires <= now + FENCE_MAX_AHEAD:
        raise AgentError(
            f"the signature on fencing token {token} expired at {fence.expires} (now {now}) "
            "or is valid too far ahead; refused",
            status=403,
            hint="the control plane signs each call anew: check the machine's clock",
        )


class IdentityToken(BaseModel):
    token: str = Field(
        min_length=1,
        max_length=16_384,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="A signed JWT (compact serialization).",
    )


class Preview(BaseModel):
    revision: str
    port: int = Field(default=0, ge=0, le=65535, description="0: any free port.")


class LogQuery(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="SQL over the table `logs`.")


def _error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if hint:
        body["hint"] = hint
    return JSONResponse(body, status_code=status)


def create_agent_app(agent: Agent) -> FastAPI:
    app = FastAPI(title="roost agent", version=roost.__version__, docs_url="/docs")
    app.add_middleware(RequireCredential, agent=agent)

    @app.exception_handler(AgentError)
    async def _agent_error(request: Request, exc: AgentError) -> JSONResponse:
        return _error(exc.status, str(exc), exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what only: FastAPI's default answer echoes the input, and a revision spec's
        # input holds secret values that the caller may log or record in an event.
        where = [
            ".".join(str(part) for part in error.get("loc", ())) + ": " + str(error.get("msg"))
            for error in exc.errors()
        ]
        return _error(422, "invalid request: " + "; ".join(where))

    @app.exception_handler(RevisionNotFoundError)
    async def _not_found(request: Request, exc: RevisionNotFoundError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(RevisionConflictError)
    async def _conflict(request: Request, exc: RevisionConflictError) -> JSONResponse:
        return _error(409, str(exc), "a revision is immutable: start a new one")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": roost.__version__}

    @app.get("/v1/state")
    async def state() -> dict[str, Any]:
        """Every environment's services, revisions, weights and listeners."""
        return await agent.state()

    @app.get(f"{ENV}/state")
    async def environment_state(environment: Environment) -> dict[str, Any]:
        return await agent.state(environment)

    @app.put(f"{ENV}/services/{{service}}/listener")
    async def listen(environment: Environment, service: str, body: Listener) -> dict[str, Any]:
        port = await agent.ensure_listener(environment, service, body.port)
        return {
            "environment": environment,
            "service": service,
            "port": port,
            "url": f"http://{agent.host}:{port}",
        }

    @app.put(f"{ENV}/services/{{service}}/revisions/{{revision}}")
    async def start_revision(
        environment: Environment, service: str, revision: str, spec: RevisionSpec
    ) -> dict[str, Any]:
        if (spec.service, spec.revision) != (service, revision):
            raise AgentError("the spec names another service or revision than the URL")
        await agent.start_revision(environment, spec)
        return await agent.state(environment)

    @app.post(f"{ENV}/services/{{service}}/revisions/{{revision}}/scale")
    async def scale(
        environment: Environment, service: str, revision: str, body: Scale
    ) -> dict[str, Any]:
        await agent.scale(environment, service, revision, body.replicas)
        return await agent.state(environment)

    @app.delete(f"{ENV}/services/{{service}}/revisions/{{revision}}")
    async def stop_revision(
        environment: Environment, service: str, revision: str
    ) -> dict[str, Any]:
        await agent.stop_revision(environment, service, revision)
        return await agent.state(environment)

    @app.put(f"{ENV}/services/{{service}}/revisions/{{revision}}/identity")
    async def put_identity(
        environment: Environment, service: str, revision: str, body: IdentityToken
    ) -> dict[str, Any]:
        """Replace the revision's workload token file (never echoed back: it is a credential)."""
        await agent.put_identity(environment, service, revision, body.token)
        return {"environment": environment, "service": service, "revision": revision}

    @app.put(f"{ENV}/services/{{service}}/weights")
    async def weights(environment: Environment, service: str, body: Weights) -> dict[str, Any]:
        check_fence(agent, environment, service, body)
        new = await agent.set_weights(
            environment, service, body.weights, fencing_token=body.fencing_token
        )
        return {"environment": environment, "service": service, "weights": new}

    @app.put(f"{ENV}/services/{{service}}/preview")
    async def open_preview(environment: Environment, service: str, body: Preview) -> dict[str, Any]:
        port = await agent.open_preview(environment, service, body.revision, body.port)
        return {"service": service, "revision": body.revision, "url": f"http://{agent.host}:{port}"}

    @app.delete(f"{ENV}/services/{{service}}/preview")
    async def close_preview(environment: Environment, service: str) -> dict[str, Any]:
        return {"service": service, "closed": await agent.close_preview(environment, service)}

    @app.get(f"{ENV}/services/{{service}}/revisions/{{revision}}/metrics")
    async def metrics_summary(
        environment: Environment,
        service: str,
        revision: str,
        window: Annotated[float, Query(gt=0, le=7 * 86400)] = 60.0,
        samples: Annotated[int, Query(ge=0, le=10_000)] = 0,
    ) -> dict[str, Any]:
        span = timedelta(seconds=window)
        scope = agent.scope(environment)
        summary = scope.summary(service, revision, window=span)
        summary["p95"] = scope.series.latency_quantile(service, revision, 0.95, window=span)
        if samples:
            summary["samples"] = scope.series.latency_samples(
                service, revision, window=span, limit=samples
            )
        return summary

    @app.get(f"{ENV}/services/{{service}}/sli")
    async def sli_counts(
        environment: Environment,
        service: str,
        window: Annotated[float, Query(gt=0, le=400 * 86400)],
        under: Annotated[float | None, Query(gt=0)] = None,
        revision: str | None = None,
    ) -> dict[str, Any]:
        """Requests of every revision of ``service`` in ``environment`` (running or not: an SLO
        is the service's) within ``window`` seconds per status class, and how many were faster
        than ``under`` seconds (only ``revision``'s, when given: a canary's own); the store
        answers from the history it keeps (a week by default)."""
        span = timedelta(seconds=window)
        return agent.sli_counts(environment, service, window=span, under=under, revision=revision)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(agent.render_metrics(), media_type=CONTENT_TYPE)

    @app.post("/v1/logs/query")
    async def logs_query(body: Annotated[LogQuery, Body()]) -> dict[str, Any]:
        # In a thread that only waits on the query's worker process: this loop also runs the
        # router, and a query must never hold up traffic (see roost.runtime.logquery).
        try:
            result = await asyncio.to_thread(query_logs, agent.log_dirs(), body.sql)
        except LogQueryError as exc:
            raise AgentError(str(exc), status=exc.status, hint=exc.hint) from None
        return {
            "columns": list(result.columns),
            "rows": [list(r) for r in result.rows],
            "truncated": result.truncated,
        }

    return app
