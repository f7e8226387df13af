"""Bearer JWTs from the OIDC issuer roost.yaml names (``auth.oidc``), verified against the
issuer's published keys (JWKS), never against a shared secret.

Checked: the signature (with an algorithm roost.yaml allows: no ``none``, no HMAC, whatever the
token's header asks for), ``iss`` exactly, ``aud`` holding the audience, ``exp`` and ``nbf``
against roost's clock (with :data:`LEEWAY` for clock skew). The keys are cached by PyJWT's
``PyJWKClient`` and fetched again when a token names a key id it has not seen (rotation).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt import PyJWKClient

from roost.api.auth.authenticating import Verified
from roost.api.auth.errors import Unauthenticated
from roost.api.auth.permissions import Grant, Role
from roost.clock import Clock
from roost.control.workspace import Workspace
from roost.spec.auth import Oidc, subject_problem

LEEWAY = timedelta(seconds=30)
JWKS_TIMEOUT = 5.0
JWKS_LIFESPAN = 300
"""Seconds the issuer's key set is reused before it is fetched again."""


class OidcVerifier:
    """Verifies one issuer's tokens; thread-safe."""

    def __init__(self, config: Oidc, *, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._keys = PyJWKClient(
            config.jwks_url, cache_keys=True, lifespan=JWKS_LIFESPAN, timeout=JWKS_TIMEOUT
        )

    def verify(self, token: str) -> Verified:
        config = self.config
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(config.algorithms),
                audience=config.audience,
                issuer=config.issuer,
                # Time is checked below against roost's clock, not the library's.
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated(
                f"cannot fetch the OIDC issuer's keys from {config.jwks_url}: {exc}",
                hint="is the issuer reachable from roost serve?",
            ) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthenticated(f"invalid OIDC token: {exc}", hint="get a fresh one") from None
        now = self.clock.now()
        expires_at = _time(claims.get("exp"), "exp")
        if now >= expires_at + LEEWAY:
            raise Unauthenticated("the OIDC token expired", hint="get a fresh one")
        if "nbf" in claims and now + LEEWAY < _time(claims["nbf"], "nbf"):
            raise Unauthenticated("the OIDC token is not valid yet")
        subject = claims.get(config.subject_claim)
        if not isinstance(subject, str) or subject_problem(subject) is not None:
            raise Unauthenticated(
                f"the OIDC token's {config.subject_claim!r} claim is not a name roost can record"
            )
        raw_groups = claims.get(config.groups_claim, [])
        groups = tuple(
            g for g in (raw_groups if isinstance(raw_groups, list) else []) if isinstance(g, str)
        )
        roles = tuple(
            Grant(Role(r.role), r.environment, r.service)
            for r in config.roles
            if (r.subject is not None and r.subject == subject)
            or (r.group is not None and r.group in groups)
        )
        return Verified(subject=subject, groups=groups, roles=roles, expires_at=expires_at)

    def __repr__(self) -> str:
        return f"OidcVerifier(issuer={self.config.issuer!r})"


class ProjectOidc:
    """The verifier for the issuer the workspace's roost.yaml names *now*: an applied change of
    ``auth.oidc`` takes effect on the next token, without a restart."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lock = threading.Lock()
        self._current: OidcVerifier | None = None

    def configured(self) -> bool:
        return self.ws.project.auth.oidc is not None

    def verify(self, token: str) -> Verified:
        config = self.ws.project.auth.oidc
        if config is None:
            raise Unauthenticated(
                "not a roost token, and roost.yaml names no OIDC issuer (auth.oidc)"
            )
        with self._lock:
            if self._current is None or self._current.config != config:
                self._current = OidcVerifier(config, clock=self.ws.clock)
            verifier = self._current
        return verifier.verify(token)


def _time(value: Any, claim: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"the OIDC token's {claim!r} claim is not a time")
    return datetime.fromtimestamp(value, UTC)
