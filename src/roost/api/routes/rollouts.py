"""Rollouts: deploy, approve, promote / pause / resume / abort, rollback, history.

Writes go through :class:`roost.control.operations.deploying.Deployments` (guardrails first, nothing
half-done on a refusal) and the rollout executor (fenced router updates, persisted
transitions). Who acts is the subject of the request's credential (:mod:`roost.api.auth`),
never a name in the body; skipping a guardrail needs the ``override`` permission besides.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import Field

from roost.api.auth import Permission
from roost.api.inputs import (
    EnvironmentName,
    EnvVars,
    IdPath,
    ReleaseId,
    RequestBody,
    SecretEnv,
    ServiceName,
    ServicePath,
    Text,
)
from roost.api.routes._deps import (
    Approver,
    Deployer,
    Reader,
    ScopedReader,
    require_override,
    require_permission,
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


class Deploy(RequestBody):
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


class Command(RequestBody):
    reason: Text = ""


class Promote(Command):
    full: bool = Field(default=False, description="Skip every remaining step: straight to 100%.")


class Rollback(RequestBody):
    environment: EnvironmentName | None = None
    to: ReleaseId | None = Field(default=None, description="Default: the release before this one.")
    fast: bool = Field(default=False, description="Straight to 100% instead of canary steps.")
    force: Text | None = Field(
        default=None, description="Reason for overriding a schema refusal (audited)."
    )


@router.post("/rollouts", status_code=201)
def deploy(
    request: Request, principal: Deployer, body: Annotated[Deploy, Body()]
) -> dict[str, Any]:
    """Start a rollout (or ask for approval): guardrails, release, first step."""
    for what, given in (
        ("promotion", body.force),
        ("the scan gate", body.override_scan),
        ("the error budget", body.override_budget),
    ):
        if given is not None:
            require_override(
                principal, request, what=what, environment=body.environment, service=body.service
            )
    if body.approve:
        # Counting one's own approval is an approver's act (and four eyes may refuse it).
        require_permission(
            principal,
            request,
            Permission.APPROVE,
            what="approve",
            environment=body.environment,
            service=body.service,
        )
    return _deployments(request).deploy(
        body.service,
        environment=body.environment,
        release=body.release,
        env_overrides=body.env,
        secret_env=body.secret_env,
        approve=body.approve,
        actor=principal.actor,
        override_budget=body.override_budget,
        override_scan=body.override_scan,
        override_promotion=body.force,
    )


@router.get("/rollouts/{rollout_id}/status")
def status(rollout_id: IdPath, request: Request, _: ScopedReader) -> dict[str, Any]:
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
def find(
    what: str, request: Request, _: Reader, environment: EnvironmentName | None = None
) -> dict[str, Any]:
    """A rollout by id, or a service's active (else latest) rollout."""
    deployments = _deployments(request)
    return deployments.view(deployments.find(what, environment))


@router.post("/rollouts/{rollout_id}/approve")
def approve(
    rollout_id: IdPath, request: Request, principal: Approver, body: Command | None = None
) -> dict[str, Any]:
    """Approve a deploy someone else requested; it starts once it has enough approvals."""
    return _deployments(request).approve(rollout_id, actor=principal.actor)


@router.post("/rollouts/{rollout_id}/promote")
def promote(
    rollout_id: IdPath, request: Request, principal: Deployer, body: Promote
) -> dict[str, Any]:
    """Move past the current step (``full``: straight to 100%)."""
    kind = CommandKind.PROMOTE_FULL if body.full else CommandKind.PROMOTE
    return _deployments(request).command(
        rollout_id, kind, actor=principal.actor, reason=body.reason
    )


@router.post("/rollouts/{rollout_id}/pause")
def pause(
    rollout_id: IdPath, request: Request, principal: Deployer, body: Command
) -> dict[str, Any]:
    """Hold the rollout where it is (analysis keeps running and can still abort)."""
    return _deployments(request).command(
        rollout_id, CommandKind.PAUSE, actor=principal.actor, reason=body.reason
    )


@router.post("/rollouts/{rollout_id}/resume")
def resume(
    rollout_id: IdPath, request: Request, principal: Deployer, body: Command
) -> dict[str, Any]:
    """Continue a paused rollout."""
    return _deployments(request).command(
        rollout_id, CommandKind.RESUME, actor=principal.actor, reason=body.reason
    )


@router.post("/rollouts/{rollout_id}/abort")
def abort(
    rollout_id: IdPath, request: Request, principal: Deployer, body: Command
) -> dict[str, Any]:
    """All traffic back to stable now (one router update), then end the rollout."""
    return _deployments(request).command(
        rollout_id, CommandKind.ABORT, actor=principal.actor, reason=body.reason
    )


@router.post("/services/{service}/rollback", status_code=201)
def rollback(
    service: ServicePath, request: Request, principal: Deployer, body: Rollback
) -> dict[str, Any]:
    """Roll back to an earlier release: code, config and secrets together, schema permitting."""
    if body.force is not None:
        require_override(
            principal,
            request,
            what="the schema check",
            environment=body.environment,
            service=service,
        )
    return _rollbacks(request).rollback(
        service,
        environment=body.environment,
        to=body.to,
        fast=body.fast,
        force=body.force,
        actor=principal.actor,
    )


@router.get("/services/{service}/history")
def history(
    service: ServicePath,
    request: Request,
    _: ScopedReader,
    environment: EnvironmentName | None = None,
) -> list[dict[str, Any]]:
    """The service's rollouts, newest first."""
    return _rollbacks(request).history(service, environment)
