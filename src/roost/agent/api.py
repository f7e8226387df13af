"""The agent's HTTP API: what the control plane calls, and ``/metrics`` for Prometheus.

It listens on 127.0.0.1 only: the agent obeys whoever can reach it, so it must not be reachable
from other machines. Writes that move traffic carry a fencing token (see :mod:`hosting`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

import roost
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


class Weights(BaseModel):
    weights: dict[str, Annotated[int, Field(ge=0, le=100)]]
    fencing_token: int | None = None


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

    @app.put(f"{ENV}/services/{{service}}/weights")
    async def weights(environment: Environment, service: str, body: Weights) -> dict[str, Any]:
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
