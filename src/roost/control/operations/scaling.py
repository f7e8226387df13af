"""Capacity operations: scale a service's revisions in one environment, stop an environment (every
service to 0 replicas, listeners and weights kept) and start it again.

They exist for the ``scale`` / ``stop-environment`` / ``start-environment`` actions (the nightly
scale-down of non-production). Like every control-plane write they run only on the leader (a
follower answers 503 naming it) and are recorded as events with the actor.
"""

from __future__ import annotations

from typing import Any

from roost._util import event_catalog as events
from roost.control.errors import OperationError
from roost.control.operations.plane import ControlPlane


def _require_leading(plane: ControlPlane) -> None:
    if plane.leadership is not None:
        plane.leadership.fence  # noqa: B018 - raises the 503 "not the leader" on a follower


def _serving(service_state: dict[str, Any]) -> list[str]:
    """The revisions of a service that take traffic (all of them when no weights are set)."""
    revisions = [r["revision"] for r in service_state.get("revisions", [])]
    weights = service_state.get("weights") or {}
    weighted = [r for r in revisions if weights.get(r, 0) > 0]
    return weighted or revisions


def scale_service(
    plane: ControlPlane, service: str, *, environment: str, replicas: int, actor: str | None
) -> dict[str, Any]:
    """Set the replica count of the revisions of ``service`` that take traffic."""
    if replicas < 0:
        raise OperationError("replicas must be 0 or more", status=400)
    spec = plane.service(service)
    env_name, _ = plane.environment(environment)
    _require_leading(plane)
    with plane._agent(env_name) as agent:
        state = agent.state()["services"].get(spec.name) or {}
        revisions = _serving(state)
        if not revisions:
            raise OperationError(
                f"{spec.name} runs nothing in {env_name}",
                status=409,
                hint=f"deploy it first (`roost deploy {spec.name} --env {env_name}`)",
            )
        before = {r["revision"]: r.get("desired_replicas") for r in state.get("revisions", [])}
        for revision in revisions:
            agent.scale(spec.name, revision, replicas)
    data = {
        "environment": env_name,
        "replicas": replicas,
        "revisions": revisions,
        "before": {r: before.get(r) for r in revisions},
    }
    plane._event(events.SERVICE_SCALED, spec.name, data, actor)
    return data


def stop_environment(plane: ControlPlane, environment: str, *, actor: str | None) -> dict[str, Any]:
    """Every revision of every service in ``environment`` down to 0 replicas (routes stay, so
    :func:`start_environment` brings it back as it was)."""
    env_name, _ = plane.environment(environment)
    _require_leading(plane)
    stopped: dict[str, dict[str, Any]] = {}
    with plane._agent(env_name) as agent:
        for name, state in sorted(agent.state()["services"].items()):
            counts = {}
            for revision in state.get("revisions", []):
                counts[revision["revision"]] = revision.get("desired_replicas")
                agent.scale(name, revision["revision"], 0)
            if counts:
                stopped[name] = counts
    data = {"environment": env_name, "stopped": stopped}
    plane._event(events.ENVIRONMENT_STOPPED, env_name, data, actor)
    return data


def start_environment(
    plane: ControlPlane, environment: str, *, actor: str | None
) -> dict[str, Any]:
    """Every service of ``environment`` back to its roost.yaml replica count (the revisions
    that take traffic); a service that runs nothing there gets its last release (as ``up``)."""
    env_name, _ = plane.environment(environment)
    _require_leading(plane)
    started: dict[str, int] = {}
    missing = False
    with plane._agent(env_name) as agent:
        services = agent.state()["services"]
        for spec in plane.ws.project.services:
            if not spec.runs_in(env_name):
                continue
            state = services.get(spec.name) or {}
            revisions = _serving(state)
            if not revisions:
                missing = True
                continue
            replicas = spec.replicas_in(env_name)
            for revision in revisions:
                agent.scale(spec.name, revision, replicas)
            started[spec.name] = replicas
    if missing:
        up = plane.up(environment=env_name, actor=actor)
        for revision in up.get("started", []):
            started.setdefault(str(revision), 1)
    data = {"environment": env_name, "started": started}
    plane._event(events.ENVIRONMENT_STARTED, env_name, data, actor)
    return data
