"""``require(permission)``: the FastAPI dependency every ``/api/v1`` route declares.

It authenticates the request (401 without a valid credential), finds what the request is
about — the environment and service named in the path, the query or the JSON body, or the
rollout a path's ``rollout_id`` names — and checks that the subject's roles grant the
permission there (403 otherwise). ``X-Roost-As: NAME`` (the CLI's ``--as``) is impersonation:
only an admin may, and the audit log then names both (``bob (impersonated by alice)``).

The route receives the :class:`Principal`; its ``actor`` is the only name a route may record.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from roost.api.auth.authenticating import Authenticator
from roost.api.auth.errors import BadCredentialRequest, Forbidden
from roost.api.auth.permissions import Permission
from roost.api.auth.principals import Principal
from roost.store import StoreError

IMPERSONATE_HEADER = "x-roost-as"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_ROLLOUT_SCOPES = 10_000
PER_ENVIRONMENT = "per-environment"
"""The second OpenAPI scope of a route checked on the environment the request names."""

# Declares the scheme in the OpenAPI document (and the docs page's Authorize button); the
# header itself is read by Requirement, which answers roost's own 401.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="roost",
    description="A roost API token (`roost token create`) or a JWT from roost.yaml's OIDC issuer.",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


class Requirement:
    """A route's need: ``permission``, checked where the request points (``scoped``: default
    to the project's first environment when the request names none, as the routes do)."""

    def __init__(self, permission: Permission, *, scoped: bool) -> None:
        self.permission = permission
        self.scoped = scoped

    async def __call__(self, request: Request, _: BearerCredentials) -> Principal:
        auth: Authenticator = request.app.state.auth
        header = request.headers.get("authorization")
        principal = auth.cached(header)
        if principal is None:
            principal = await run_in_threadpool(auth.authenticate, header)
        acting_as = request.headers.get(IMPERSONATE_HEADER)
        if acting_as is not None:
            # Refused before anything else: a non-admin's --as is never just "not here".
            principal = _impersonate(principal, acting_as)
        environment, service = await self._scope(request)
        if not principal.may(self.permission, environment=environment, service=service):
            where = _where(environment, service)
            raise Forbidden(f"{principal.subject} may not {self.permission.value}{where}")
        request.state.principal = principal
        return principal

    async def _scope(self, request: Request) -> tuple[str | None, str | None]:
        environment = _text(request.query_params.get("environment"))
        service = _text(request.path_params.get("service"))
        if request.method in _WRITES and request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            try:
                body: Any = await request.json()
            except ValueError:  # the route's own validation answers 422
                body = None
            if isinstance(body, dict):
                environment = environment or _text(body.get("environment"))
                service = service or _text(body.get("service"))
        rollout_id = _text(request.path_params.get("rollout_id"))
        if rollout_id is not None:
            # A rollout's environment and service never change: once its full id was seen,
            # the answer comes from memory (no thread hop, no query).
            scopes: dict[str, tuple[str, str]] = request.app.state.rollout_scopes
            found = scopes.get(rollout_id)
            if found is None:
                found = await run_in_threadpool(_rollout_scope, request, rollout_id)
            if found is not None:
                return found
        if environment is None and (self.scoped or service is not None):
            environments = list(request.app.state.workspace.project.environments)
            environment = environments[0] if environments else None
        return environment, service

    def __repr__(self) -> str:
        return f"require({self.permission.value!r}, scoped={self.scoped})"


def require(permission: Permission, *, scoped: bool = False) -> Any:
    """The dependency a route declares: ``Annotated[Principal, require(...)]``. The permission
    is the OpenAPI security scope of the route, so the document says what each route needs."""
    scopes = [permission.value, PER_ENVIRONMENT] if scoped else [permission.value]
    return Security(Requirement(permission, scoped=scoped), scopes=scopes)


def _impersonate(principal: Principal, name: str) -> Principal:
    if not principal.may(Permission.ADMIN):
        raise Forbidden(
            f"{principal.subject} may not act as {name!r}: --as is impersonation, for admins",
            hint="drop --as: roost records who your credential says you are",
        )
    if not _NAME.match(name):
        raise BadCredentialRequest(
            f"bad --as name {name!r}", hint="letters, digits and . _ @ - (at most 100)"
        )
    return principal.impersonating(name)


def _rollout_scope(request: Request, rollout_id: str) -> tuple[str, str] | None:
    try:
        record = request.app.state.workspace.store.rollouts.find(rollout_id)
    except (StoreError, ValueError):
        return None  # the route answers 404 (or 400) itself; the check falls back to project
    scope = (record.environment, record.service)
    if record.id == rollout_id:  # a full id (a prefix may become ambiguous later)
        scopes: dict[str, tuple[str, str]] = request.app.state.rollout_scopes
        if len(scopes) >= MAX_ROLLOUT_SCOPES:
            scopes.clear()
        scopes[rollout_id] = scope
    return scope


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _where(environment: str | None, service: str | None) -> str:
    if environment is None:
        return " (project-wide)"
    return f" in {environment}" + (f" on {service}" if service else "")
