"""Who may use the API: tokens (made, listed, revoked) and role bindings (granted, revoked,
listed) — all for admins only, each change an audit event naming the admin.

A token is shown once, in the answer that creates it; the store keeps only its hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

from roost._util import event_catalog as events
from roost.api.auth import Authenticator, Permission, Role, new_token, parse_lifetime, token_hash
from roost.api.auth.permissions import ALL, pattern_problem
from roost.api.inputs import RequestBody
from roost.api.routes._deps import Admin, Reader, WorkspaceDep
from roost.control.errors import OperationError
from roost.spec import names

router = APIRouter(prefix="/auth", tags=["auth"])

SUBJECT_PATTERN = r"^(group:)?[A-Za-z0-9][A-Za-z0-9._@-]{0,150}$"
Subject = Annotated[
    str,
    Field(
        pattern=SUBJECT_PATTERN,
        description="A token's name, an OIDC subject, or group:NAME (an OIDC group).",
    ),
]


def _pattern(value: str, what: str) -> str:
    problem = pattern_problem(value, what)
    if problem is not None:
        raise ValueError(f"{problem}; e.g. production, staging-*, *")
    return value


class Binding(RequestBody):
    role: Role
    environment: str = Field(default=ALL, description="Environment pattern (`*`: every one).")
    service: str = Field(default=ALL, description="Service pattern (`*`: every one).")

    @field_validator("environment")
    @classmethod
    def _env(cls, value: str) -> str:
        return _pattern(value, "environment")

    @field_validator("service")
    @classmethod
    def _svc(cls, value: str) -> str:
        return _pattern(value, "service")


class NewToken(Binding):
    name: Annotated[str, Field(pattern=names.NAME_PATTERN, description=names.NAME_RULE)]
    expires: str | None = Field(default=None, description="Lifetime: 30d, 12h, 90m, 2w.")

    @field_validator("expires")
    @classmethod
    def _expires(cls, value: str | None) -> str | None:
        if value is not None:
            parse_lifetime(value)
        return value


class Grant(Binding):
    subject: Subject


class TokenInfo(BaseModel):
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    roles: list[dict[str, str]]


def _auth(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def _roles(ws: WorkspaceDep, subject: str) -> list[dict[str, str]]:
    return [
        {"role": b.role, "environment": b.environment, "service": b.service}
        for b in ws.store.roles.list(subject)
    ]


@router.get("/whoami")
def whoami(principal: Reader) -> dict[str, Any]:
    """Who the credential says you are, and your role bindings."""
    return {
        "subject": principal.subject,
        "actor": principal.actor,
        "via": principal.via,
        "groups": list(principal.groups),
        "roles": [
            {"role": g.role.value, "environment": g.environment, "service": g.service}
            for g in principal.grants
        ],
        "admin": principal.may(Permission.ADMIN),
    }


@router.get("/tokens")
def list_tokens(ws: WorkspaceDep, _: Admin) -> list[TokenInfo]:
    """Every token (never the token itself): when made, by whom, last use, expiry, roles."""
    return [
        TokenInfo(
            name=t.name,
            created_at=t.created_at,
            created_by=t.created_by,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
            roles=_roles(ws, t.name),
        )
        for t in ws.store.tokens.list()
    ]


@router.post("/tokens", status_code=201)
def create_token(
    ws: WorkspaceDep, principal: Admin, request: Request, body: NewToken
) -> dict[str, Any]:
    """Make a token with one role (more with `role grant`); the answer is the only place the
    token is ever shown."""
    token = new_token()
    expires_at = None if body.expires is None else ws.clock.now() + parse_lifetime(body.expires)
    record = ws.store.tokens.create(
        body.name,
        token_hash=token_hash(token),
        created_by=principal.actor,
        expires_at=expires_at,
        bindings=[(body.role.value, body.environment, body.service)],
    )
    ws.store.events.append(
        events.AUTH_TOKEN_CREATED,
        source=events.SOURCE_AUTH,
        subject=f"token/{record.name}",
        data={
            "name": record.name,
            "role": body.role.value,
            "environment": body.environment,
            "service": body.service,
            "expires_at": None if expires_at is None else expires_at.isoformat(),
        },
        actor=principal.actor,
    )
    _auth(request).invalidate()
    return {
        "name": record.name,
        "token": token,
        "role": body.role.value,
        "environment": body.environment,
        "service": body.service,
        "expires_at": None if expires_at is None else expires_at.isoformat(),
    }


@router.delete("/tokens/{name}")
def revoke_token(ws: WorkspaceDep, principal: Admin, request: Request, name: str) -> dict[str, Any]:
    """Revoke a token: refused from now on, here at once, in other `roost serve` processes
    sharing the store within a few seconds (their credential cache)."""
    before = ws.store.tokens.get(name)
    record = ws.store.tokens.revoke(name)
    if before.revoked_at is None:
        ws.store.events.append(
            events.AUTH_TOKEN_REVOKED,
            source=events.SOURCE_AUTH,
            subject=f"token/{name}",
            data={"name": name},
            actor=principal.actor,
        )
    _auth(request).invalidate()
    return {"name": record.name, "revoked_at": record.revoked_at}


@router.get("/roles")
def list_roles(ws: WorkspaceDep, _: Admin, subject: str | None = None) -> list[dict[str, Any]]:
    """Every role binding (``subject`` narrows it)."""
    return [
        {
            "subject": b.subject,
            "role": b.role,
            "environment": b.environment,
            "service": b.service,
            "created_at": b.created_at.isoformat(),
            "created_by": b.created_by,
        }
        for b in ws.store.roles.list(subject)
    ]


@router.post("/roles")
def grant_role(ws: WorkspaceDep, principal: Admin, request: Request, body: Grant) -> dict[str, Any]:
    """Give ``subject`` a role on the environments and services the patterns match."""
    record, new = ws.store.roles.grant(
        body.subject,
        body.role.value,
        environment=body.environment,
        service=body.service,
        created_by=principal.actor,
    )
    if new:
        ws.store.events.append(
            events.AUTH_ROLE_GRANTED,
            source=events.SOURCE_AUTH,
            subject=f"role/{body.subject}",
            data=body.model_dump(mode="json"),
            actor=principal.actor,
        )
        _auth(request).invalidate()
    return body.model_dump(mode="json") | {"granted": new, "created_by": record.created_by}


@router.post("/roles/revoke")
def revoke_role(
    ws: WorkspaceDep, principal: Admin, request: Request, body: Grant
) -> dict[str, Any]:
    """Take one binding away (exactly as it was granted: subject, role and both patterns)."""
    removed = ws.store.roles.revoke(
        body.subject, body.role.value, environment=body.environment, service=body.service
    )
    if not removed:
        raise OperationError(
            f"{body.subject} holds no {body.role.value} binding on environment "
            f"{body.environment!r}, service {body.service!r}",
            status=404,
            hint="`roost role list` shows the bindings as granted",
        )
    ws.store.events.append(
        events.AUTH_ROLE_REVOKED,
        source=events.SOURCE_AUTH,
        subject=f"role/{body.subject}",
        data=body.model_dump(mode="json"),
        actor=principal.actor,
    )
    _auth(request).invalidate()
    return body.model_dump(mode="json") | {"revoked": True}
