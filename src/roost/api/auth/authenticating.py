"""From an ``Authorization`` header to a :class:`Principal`, with a short cache.

Every API call authenticates, so the common case must cost microseconds: a credential seen in
the last :data:`CACHE_SECONDS` is answered from memory (its hash, its grants). The price is
that a revocation made by *another* process sharing the store takes effect within
``CACHE_SECONDS``; one made through this API (``roost token revoke``, ``roost role …``) clears
the cache at once. A token's own expiry is checked on every call, cached or not.

``last_used_at`` is written at most once per :data:`TOUCH_SECONDS` per token: a write per
request would serialise every reader behind SQLite's write lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from roost.api.auth.errors import Unauthenticated
from roost.api.auth.permissions import Grant, Role
from roost.api.auth.principals import Principal
from roost.api.auth.tokens import PREFIX, looks_like_token, token_hash
from roost.clock import Clock
from roost.store import Store

CACHE_SECONDS = 5.0
"""How long a credential's lookup is reused: the longest a revocation made elsewhere waits."""
TOUCH_SECONDS = 60.0
MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class Verified:
    """What an external issuer's token says about its bearer."""

    subject: str
    groups: tuple[str, ...]
    roles: tuple[Grant, ...]
    """Grants the issuer's claims map to (roost.yaml's ``auth.oidc.roles``)."""
    expires_at: datetime


class BearerVerifier(Protocol):
    """Checks a bearer token that is not a roost token (an OIDC JWT)."""

    def verify(self, token: str) -> Verified: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    expires_at: datetime | None
    fresh_until: float


def grants_of(store: Store, subjects: list[str]) -> tuple[Grant, ...]:
    grants = []
    for binding in store.roles.of(subjects):
        try:
            role = Role(binding.role)
        except ValueError:  # a role a newer roost wrote: grants nothing here
            continue
        grants.append(Grant(role, binding.environment, binding.service))
    return tuple(grants)


class Authenticator:
    """Turns credentials into principals; thread-safe."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        oidc: BearerVerifier | None = None,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.oidc = oidc
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def cached(self, authorization: str | None) -> Principal | None:
        """The principal for a credential seen lately, without any I/O; None: ask
        :meth:`authenticate`."""
        token = _bearer(authorization)
        if token is None:
            return None
        entry = self._cache.get(token_hash(token))
        if entry is None or entry.fresh_until < time.monotonic():
            return None
        if entry.expires_at is not None and self.clock.now() >= entry.expires_at:
            return None
        return entry.principal

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal a credential proves, or :class:`Unauthenticated`. May read the store
        (run it off the event loop)."""
        token = _bearer(authorization)
        if token is None:
            raise Unauthenticated(
                "this API needs a credential"
                if authorization is None
                else "the Authorization header must be `Bearer TOKEN`"
            )
        digest = token_hash(token)
        found = self.cached(authorization)
        if found is not None:
            return found
        if token.startswith(PREFIX):
            entry = self._roost_token(token, digest)
        else:
            entry = self._external(token)
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[digest] = entry
        return entry.principal

    def invalidate(self) -> None:
        """Forget every cached credential (after a revocation or a role change)."""
        with self._lock:
            self._cache.clear()

    def _roost_token(self, token: str, digest: str) -> _Entry:
        if not looks_like_token(token):
            raise Unauthenticated("malformed roost token")
        record = self.store.tokens.find_by_hash(digest)
        now = self.clock.now()
        if record is None:
            raise Unauthenticated("unknown token")
        if record.revoked_at is not None:
            raise Unauthenticated(f"token {record.name!r} was revoked")
        if not record.usable(now):
            raise Unauthenticated(
                f"token {record.name!r} expired", hint="ask an admin for a new one"
            )
        if record.last_used_at is None or now - record.last_used_at >= timedelta(
            seconds=TOUCH_SECONDS
        ):
            self.store.tokens.touch(record.name, now)
        principal = Principal(
            subject=record.name, via="token", grants=grants_of(self.store, [record.name])
        )
        return _Entry(principal, record.expires_at, time.monotonic() + self.cache_seconds)

    def _external(self, token: str) -> _Entry:
        if self.oidc is None:
            raise Unauthenticated("not a roost token")
        verified = self.oidc.verify(token)
        subjects = [verified.subject, *(f"group:{g}" for g in verified.groups)]
        principal = Principal(
            subject=verified.subject,
            via="oidc",
            grants=verified.roles + grants_of(self.store, subjects),
            groups=verified.groups,
        )
        return _Entry(principal, verified.expires_at, time.monotonic() + self.cache_seconds)

    def __repr__(self) -> str:
        return f"Authenticator(cached={len(self._cache)}, oidc={self.oidc is not None})"


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 16_384:
        return None
    return value
