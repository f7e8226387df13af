"""Operating the local data plane: ``ps``, ``up``, start/stop revisions, weights, log queries.

Every write goes through :class:`roost.control.operations.plane.ControlPlane`, which carries
this control plane's fencing token to the agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import Field

from roost.agent.heartbeat import AGENT_LEASE_PREFIX
from roost.api.inputs import (
    MAX_WEIGHTS,
    EnvironmentName,
    EnvVars,
    ReleaseId,
    RequestBody,
    RevisionName,
    RevisionPath,
    SecretEnv,
    ServicePath,
)
from roost.api.routes._deps import Operator, Reader, ScopedReader
from roost.control.dataplane.agents import AgentUnavailable
from roost.control.errors import OperationError
from roost.control.operations.plane import ControlPlane

router = APIRouter(tags=["services"])


def _plane(request: Request) -> ControlPlane:
    plane: ControlPlane = request.app.state.plane
    return plane


class Up(RequestBody):
    environment: EnvironmentName | None = Field(default=None, description="Default: the first one.")
    secret_env: SecretEnv = Field(default_factory=dict)


class StartRevision(RequestBody):
    environment: EnvironmentName | None = None
    release: ReleaseId | None = Field(
        default=None, description="Run this release; default: cut one."
    )
    env: EnvVars = Field(default_factory=dict, description="Extra environment variables.")
    replicas: int | None = Field(default=None, ge=0, le=1000)
    secret_env: SecretEnv = Field(default_factory=dict)


class SetWeights(RequestBody):
    weights: Annotated[
        dict[RevisionName, Annotated[int, Field(ge=0, le=100)]], Field(max_length=MAX_WEIGHTS)
    ]
    environment: EnvironmentName | None = Field(default=None, description="Default: the first one.")


class LogQuery(RequestBody):
    sql: Annotated[str, Field(min_length=1, max_length=100_000)]


@router.get("/ps")
def ps(
    request: Request, _: ScopedReader, environment: EnvironmentName | None = None
) -> dict[str, Any]:
    """Revisions, replicas, probe states, weights and per-revision rps / error ratio / p99,
    plus the agent's heartbeat: a node lease that nobody renewed for its duration means the
    agent is gone (NotReady), however quiet a live one may be."""
    plane = _plane(request)
    store = plane.ws.store
    heartbeats = []
    for lease in store.leases.list():
        if lease.name.startswith(AGENT_LEASE_PREFIX):
            heartbeats.append(
                {
                    "node": lease.name.removeprefix(AGENT_LEASE_PREFIX),
                    "holder": lease.holder,
                    "renewed_at": lease.renewed_at.isoformat(),
                    "ready": not lease.expired(store.clock.now()),
                }
            )
    try:
        state = plane.ps(environment)
    except AgentUnavailable as exc:
        # The agent is down: say so with its last heartbeat instead of only "unreachable".
        raise OperationError(
            str(exc),
            status=503,
            hint="; ".join(
                f"agent {h['node']}: {'Ready' if h['ready'] else 'NotReady'}, last heartbeat "
                f"{h['renewed_at']}"
                for h in heartbeats
            )
            or exc.hint,
        ) from None
    state["heartbeats"] = heartbeats
    return state


@router.post("/up")
def up(request: Request, principal: Operator, body: Annotated[Up, Body()]) -> dict[str, Any]:
    """Listeners for every service and a first revision for those that run nothing yet."""
    return _plane(request).up(
        environment=body.environment, actor=principal.actor, secret_env=body.secret_env
    )


@router.post("/services/{service}/revisions")
def start_revision(
    service: ServicePath, request: Request, principal: Operator, body: StartRevision
) -> dict[str, Any]:
    """Start a new revision at weight 0 (100 when it is the service's only one)."""
    revision = _plane(request).start_revision(
        service,
        environment=body.environment,
        release=body.release,
        env_overrides=body.env,
        replicas=body.replicas,
        actor=principal.actor,
        secret_env=body.secret_env,
    )
    return {"service": service, "revision": revision}


@router.put("/services/{service}/weights")
def set_weights(
    service: ServicePath, request: Request, principal: Operator, body: SetWeights
) -> dict[str, Any]:
    """Replace the service's weights in one atomic, fenced router update."""
    weights = _plane(request).set_weights(
        service, body.weights, environment=body.environment, actor=principal.actor
    )
    return {"service": service, "weights": weights}


@router.delete("/services/{service}/revisions/{revision}")
def stop_revision(
    service: ServicePath,
    revision: RevisionPath,
    request: Request,
    principal: Operator,
    environment: EnvironmentName | None = None,
) -> dict[str, Any]:
    """Drain and stop a revision that no longer carries traffic (in ``environment``, default:
    the first one)."""
    _plane(request).stop_revision(service, revision, environment=environment, actor=principal.actor)
    return {"service": service, "revision": revision, "stopped": True}


@router.post("/logs/query")
def logs_query(request: Request, _: Reader, body: LogQuery) -> dict[str, Any]:
    """SQL (DuckDB) over every replica's log lines: the table is ``logs``."""
    return _plane(request).query_logs(body.sql)
