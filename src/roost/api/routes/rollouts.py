"""Rollouts: deploy, approve, promote / pause / resume / abort, rollback, history.

Writes go through :class:`roost.control.operations.deploying.Deployments` (guardrails first, nothing
half-done on a refusal) and the rollout executor (fenced router updates, persisted
transitions). Who acts is the ``actor`` in the body: roost serve listens on 127.0.0.1 and trusts
the local user's CLI, which fills it from ``--as``, ``$ROOST_USER`` or the OS user.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from roost.api.inputs import (
    Actor,
    EnvironmentName,
    EnvVars,
    IdPath,
    ReleaseId,
    SecretEnv,
    ServiceName,
    ServicePath,
    Text,
)
from roost.control.operations.deploying import Deployments
from roost.control.operations.rolling_back import Rollbacks
from roost.rollout import CommandKind

router = APIRouter(tags=["rollouts"])


def _deployments(request: Request) -> Deployments:
    deployments: Deployments = request.app.state.deployments
    return deployments


def _rollbacks(request: Request) -> Rollbacks:
    rollbacks: Rollbacks = request.app.state.rollbacks
    return rollbacks


class Deploy(BaseModel):
    service: ServiceName
    environment: EnvironmentName | None = Field(default=None, description="Default: the first one.")
    release: ReleaseId | None = Field(default=None, description="Default: cut a new release.")
    env: EnvVars = Field(
        default_factory=dict, description="Extra environment variables of the new release."
    )
    secret_env: SecretEnv = Field(default_factory=dict)
    approve: bool = Field(
        default=False, description="Count the requester's own approval (refused by four eyes)."
    )
    override_budget: Text | None = Field(
        default=None, description="Reason for deploying although the error budget is spent."
    )
    override_scan: Text | None = Field(
        default=None, description="Reason for deploying although the scan gate refuses (audited)."
    )
    force: Text | None = Field(
        default=None,
        description="Reason for deploying a release that is not promoted and soaked in the "
        "environment's promote_from (audited).",
    )
    actor: Actor


class Command(BaseModel):
    actor: Actor
    reason: Text = ""


class Promote(Command):
    full: bool = Field(default=False, description="Skip every remaining step: straight to 100%.")


class Rollback(BaseModel):
    environment: EnvironmentName | None = None
    to: ReleaseId | None = Field(default=None, description="Default: the release before this one.")
    fast: bool = Field(default=False, description="Straight to 100% instead of canary steps.")
    force: Text | None = Field(
        default=None, description="Reason for overriding a schema refusal (audited)."
    )
    actor: Actor


@router.post("/rollouts", status_code=201)
def deploy(request: Request, body: Annotated[Deploy, Body()]) -> dict[str, Any]:
    """Start a rollout (or ask for approval): guardrails, release, first step."""
    return _deployments(request).deploy(
        body.service,
        environment=body.environment,
        release=body.release,
        env_overrides=body.env,
        secret_env=body.secret_env,
        approve=body.approve,
        actor=body.actor,
        override_budget=body.override_budget,
        override_scan=body.override_scan,
        override_promotion=body.force,
    )


@router.get("/rollouts/{rollout_id}/status")
def status(rollout_id: IdPath, request: Request) -> dict[str, Any]:
    """The rollout as the live view shows it, with its timeline."""
    deployments = _deployments(request)
    record = deployments.rollout(rollout_id)
    timeline = deployments.ws.store.rollouts.timeline(record.id)
    return {
        **deployments.view(record),
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in timeline
        ],
    }


@router.get("/rollouts/find/{what}")
def find(what: str, request: Request, environment: EnvironmentName | None = None) -> dict[str, Any]:
    """A rollout by id, or a service's active (else latest) rollout."""
    deployments = _deployments(request)
    return deployments.view(deployments.find(what, environment))


@router.post("/rollouts/{rollout_id}/approve")
def approve(rollout_id: IdPath, request: Request, body: Command) -> dict[str, Any]:
    """Approve a deploy someone else requested; it starts once it has enough approvals."""
    return _deployments(request).approve(rollout_id, actor=body.actor)


@router.post("/rollouts/{rollout_id}/promote")
def promote(rollout_id: IdPath, request: Request, body: Promote) -> dict[str, Any]:
    """Move past the current step (``full``: straight to 100%)."""
    kind = CommandKind.PROMOTE_FULL if body.full else CommandKind.PROMOTE
    return _deployments(request).command(rollout_id, kind, actor=body.actor, reason=body.reason)


@router.post("/rollouts/{rollout_id}/pause")
def pause(rollout_id: IdPath, request: Request, body: Command) -> dict[str, Any]:
    """Hold the rollout where it is (analysis keeps running and can still abort)."""
    return _deployments(request).command(
        rollout_id, CommandKind.PAUSE, actor=body.actor, reason=body.reason
    )


@router.post("/rollouts/{rollout_id}/resume")
def resume(rollout_id: IdPath, request: Request, body: Command) -> dict[str, Any]:
    """Continue a paused rollout."""
    return _deployments(request).command(
        rollout_id, CommandKind.RESUME, actor=body.actor, reason=body.reason
    )


@router.post("/rollouts/{rollout_id}/abort")
def abort(rollout_id: IdPath, request: Request, body: Command) -> dict[str, Any]:
    """All traffic back to stable now (one router update), then end the rollout."""
    return _deployments(request).command(
        rollout_id, CommandKind.ABORT, actor=body.actor, reason=body.reason
    )


@router.post("/services/{service}/rollback", status_code=201)
def rollback(service: ServicePath, request: Request, body: Rollback) -> dict[str, Any]:
    """Roll back to an earlier release: code, config and secrets together, schema permitting."""
    return _rollbacks(request).rollback(
        service,
        environment=body.environment,
        to=body.to,
        fast=body.fast,
        force=body.force,
        actor=body.actor,
    )


@router.get("/services/{service}/history")
def history(
    service: ServicePath, request: Request, environment: EnvironmentName | None = None
) -> list[dict[str, Any]]:
    """The service's rollouts, newest first."""
    return _rollbacks(request).history(service, environment)
