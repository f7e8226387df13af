from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from roost.api.auth import Forbidden, Permission, Principal, require
from roost.control.workspace import Workspace


def _workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


WorkspaceDep = Annotated[Workspace, Depends(_workspace)]

# What each route needs (see roost.api.auth.permissions). "Scoped": checked on the environment
# the request names (its body, query or rollout), else the project's first one, as the
# routes themselves default.
Reader = Annotated[Principal, require(Permission.READ)]
ScopedReader = Annotated[Principal, require(Permission.READ, scoped=True)]
Deployer = Annotated[Principal, require(Permission.DEPLOY, scoped=True)]
Approver = Annotated[Principal, require(Permission.APPROVE, scoped=True)]
Operator = Annotated[Principal, require(Permission.OPERATE, scoped=True)]
ProjectOperator = Annotated[Principal, require(Permission.OPERATE)]
"""Operating project-wide machinery by hand (the event bus's dead letters and triggers)."""
Applier = Annotated[Principal, require(Permission.APPLY)]
Admin = Annotated[Principal, require(Permission.ADMIN)]


def environment_or_default(request: Request, environment: str | None) -> str | None:
    """The environment a request names, else the project's first (what operations default to)."""
    if environment is not None:
        return environment
    ws: Workspace = request.app.state.workspace
    return next(iter(ws.project.environments), None)


def require_permission(
    principal: Principal,
    request: Request,
    permission: Permission,
    *,
    what: str,
    environment: str | None,
    service: str | None,
) -> None:
    """A second permission a request needs for one of its options (checked in the route)."""
    env = environment_or_default(request, environment)
    if not principal.may(permission, environment=env, service=service):
        where = f" in {env}" if env else ""
        raise Forbidden(f"{principal.subject} may not {what}{where} (needs `{permission.value}`)")


def require_override(
    principal: Principal,
    request: Request,
    *,
    what: str,
    environment: str | None,
    service: str | None,
) -> None:
    """Skipping a guardrail (``--force``, scan and budget overrides) is its own permission."""
    env = environment_or_default(request, environment)
    if not principal.may(Permission.OVERRIDE, environment=env, service=service):
        where = f" in {env}" if env else ""
        raise Forbidden(
            f"{principal.subject} may not override {what}{where}",
            hint="overrides need the `override` permission (admins hold it); drop the override "
            "or ask an admin",
        )
