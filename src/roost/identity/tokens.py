"""Workload tokens: short-lived JWTs that say which revision of which service a replica runs.

A token is issued by the control plane (``iss``: its issuer URL) for one subject,
``project/environment/service/revision``, for the audiences the service names in roost.yaml
(default ``roost:PROJECT``), valid for 15 minutes (``iat``, ``nbf``, ``exp``) and unique
(``jti``). A replica holds it in the file ``$ROOST_IDENTITY_TOKEN_FILE`` and shows it to other
services, which verify it against the control plane's JWKS: nobody shares a secret.

Pure: time comes in as ``now``; the signing key from :mod:`roost.identity.keys`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from roost.identity.keys import ALGORITHM, SigningKey

TOKEN_LIFETIME = timedelta(minutes=15)
RENEW_AFTER = 2 / 3
"""A token is replaced once this share of its lifetime has passed (10 of 15 minutes): a
reader that caches it for a minute or two still holds a valid one, and a missed renewal or
two (an agent restarting, a leader changing) still leaves time before it expires."""
TOKEN_ENV = "ROOST_IDENTITY_TOKEN_FILE"  # noqa: S105 - a variable's name


def default_audience(project: str) -> str:
    """The audience of a service that names none: any service of this project."""
    return f"roost:{project}"


@dataclass(frozen=True, order=True)
class Workload:
    """What a token names: one revision of a service in an environment of a project."""

    project: str
    environment: str
    service: str
    revision: str

    @property
    def subject(self) -> str:
        return f"{self.project}/{self.environment}/{self.service}/{self.revision}"


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and what it says (the token itself is a credential: never log it)."""

    token: str
    workload: Workload
    audience: tuple[str, ...]
    kid: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    @property
    def renew_at(self) -> datetime:
        return self.issued_at + (self.expires_at - self.issued_at) * RENEW_AFTER

    def __repr__(self) -> str:
        return (
            f"IssuedToken({self.workload.subject!r}, kid={self.kid!r}, "
            f"expires_at={self.expires_at.isoformat()})"
        )


def issue(
    key: SigningKey,
    *,
    issuer: str,
    workload: Workload,
    audience: Iterable[str],
    now: datetime,
    lifetime: timedelta = TOKEN_LIFETIME,
) -> IssuedToken:
    """Sign a token for ``workload``, valid from ``now`` for ``lifetime``."""
    audiences = tuple(audience)
    if not audiences:
        raise ValueError("a workload token needs at least one audience")
    issued = now.replace(microsecond=0)  # NumericDate is whole seconds
    expires = issued + lifetime
    jti = secrets.token_urlsafe(16)
    claims = {
        "iss": issuer,
        "sub": workload.subject,
        "aud": audiences[0] if len(audiences) == 1 else list(audiences),
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
        "roost": {
            "project": workload.project,
            "environment": workload.environment,
            "service": workload.service,
            "revision": workload.revision,
        },
    }
    token = jwt.encode(
        claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
    )
    return IssuedToken(
        token=token,
        workload=workload,
        audience=audiences,
        kid=key.kid,
        jti=jti,
        issued_at=issued,
        expires_at=expires,
    )


def due(
    wanted: Mapping[Workload, tuple[str, ...]],
    issued: Mapping[Workload, IssuedToken],
    *,
    now: datetime,
) -> list[Workload]:
    """The workloads that need a new token at ``now``: none yet, past its renewal time, or
    issued for other audiences (roost.yaml changed) — sorted, so delivery order is stable."""
    return sorted(
        workload
        for workload, audience in wanted.items()
        if (token := issued.get(workload)) is None
        or now >= token.renew_at
        or token.audience != audience
    )
