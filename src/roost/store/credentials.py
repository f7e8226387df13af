"""API tokens and role bindings: who can authenticate, and what each subject may do where.

A token is stored only as a hash; the token itself is shown once, when it is made. Its name is
the subject it authenticates as, and a token is created together with its first role binding
in one transaction, so there is never a token that nobody decided the rights of.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from roost.clock import Clock
from roost.store._checks import require_aware, require_text
from roost.store.connecting import Database
from roost.store.errors import Conflict, NotFound
from roost.store.records import RoleBindingRecord, TokenRecord
from roost.store.tables import api_tokens, role_bindings

Binding = tuple[str, str, str]
"""(role, environment pattern, service pattern)."""


class Tokens:
    """The ``api_tokens`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(
        self,
        name: str,
        *,
        token_hash: str,
        created_by: str,
        expires_at: datetime | None = None,
        bindings: Sequence[Binding] = (),
    ) -> TokenRecord:
        """Store a new token (by its hash) and its role bindings; :class:`Conflict` when a
        token of that name exists (revoked ones too: a name is never reused, so an old audit
        line never points at a new holder)."""
        require_text(name, "token name", max_length=63)
        require_text(created_by, "created_by", max_length=200)
        if len(token_hash) != 64:
            raise ValueError("a token hash is 64 hex characters")
        if expires_at is not None:
            require_aware(expires_at, "expires_at")
        now = self._clock.now()
        with self._db.writing() as conn:
            exists = conn.execute(
                sa.select(api_tokens.c.name).where(api_tokens.c.name == name)
            ).first()
            if exists is not None:
                raise Conflict(
                    f"a token named {name!r} exists already",
                    hint="pick another name (`roost token list` shows the taken ones)",
                )
            row = conn.execute(
                sa.insert(api_tokens)
                .values(
                    name=name,
                    token_hash=token_hash,
                    created_at=now,
                    created_by=created_by,
                    expires_at=expires_at,
                )
                .returning(*api_tokens.c)
            ).one()
            for role, environment, service in bindings:
                _insert_binding(conn, name, role, environment, service, created_by, now)
        return TokenRecord(**row._mapping)

    def find_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self._db.reading() as conn:
            row = conn.execute(
                sa.select(api_tokens).where(api_tokens.c.token_hash == token_hash)
            ).first()
        return None if row is None else TokenRecord(**row._mapping)

    def get(self, name: str) -> TokenRecord:
        with self._db.reading() as conn:
            row = conn.execute(sa.select(api_tokens).where(api_tokens.c.name == name)).first()
        if row is None:
            raise NotFound(f"no token named {name!r}", hint="`roost token list` shows them")
        return TokenRecord(**row._mapping)

    def touch(self, name: str, at: datetime) -> None:
        """Record a use (callers throttle this: it is a write)."""
        with self._db.writing() as conn:
            conn.execute(
                sa.update(api_tokens).where(api_tokens.c.name == name).values(last_used_at=at)
            )

    def revoke(self, name: str) -> TokenRecord:
        """Revoke a token for good (idempotent: revoking twice keeps the first time)."""
        now = self._clock.now()
        with self._db.writing() as conn:
            row = conn.execute(
                sa.select(api_tokens).where(api_tokens.c.name == name).with_for_update()
            ).first()
            if row is None:
                raise NotFound(f"no token named {name!r}", hint="`roost token list` shows them")
            if row.revoked_at is None:
                row = conn.execute(
                    sa.update(api_tokens)
                    .where(api_tokens.c.name == name)
                    .values(revoked_at=now)
                    .returning(*api_tokens.c)
                ).one()
        return TokenRecord(**row._mapping)

    def list(self) -> builtins.list[TokenRecord]:
        with self._db.reading() as conn:
            rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.created_at)).all()
        return [TokenRecord(**row._mapping) for row in rows]

    def __repr__(self) -> str:
        return f"Tokens({self._db.redacted_url!r})"


class RoleBindings:
    """The ``role_bindings`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def grant(
        self, subject: str, role: str, *, environment: str, service: str, created_by: str
    ) -> tuple[RoleBindingRecord, bool]:
        """Bind ``subject`` to ``role`` where the patterns match; returns the binding and
        whether it is new (granting what is held already changes nothing)."""
        require_text(created_by, "created_by", max_length=200)
        with self._db.writing() as conn:
            found = _find(conn, subject, role, environment, service)
            if found is not None:
                return found, False
            record = _insert_binding(
                conn, subject, role, environment, service, created_by, self._clock.now()
            )
        return record, True

    def revoke(self, subject: str, role: str, *, environment: str, service: str) -> bool:
        """Remove one binding; whether there was one."""
        with self._db.writing() as conn:
            result = conn.execute(
                sa.delete(role_bindings).where(
                    role_bindings.c.subject == subject,
                    role_bindings.c.role == role,
                    role_bindings.c.environment == environment,
                    role_bindings.c.service == service,
                )
            )
        return bool(result.rowcount)

    def of(self, subjects: Iterable[str]) -> builtins.list[RoleBindingRecord]:
        """Every binding of any of ``subjects`` (a person and their groups)."""
        wanted = sorted(set(subjects))
        if not wanted:
            return []
        with self._db.reading() as conn:
            rows = conn.execute(
                sa.select(role_bindings)
                .where(role_bindings.c.subject.in_(wanted))
                .order_by(role_bindings.c.id)
            ).all()
        return [RoleBindingRecord(**row._mapping) for row in rows]

    def list(self, subject: str | None = None) -> builtins.list[RoleBindingRecord]:
        query = sa.select(role_bindings).order_by(role_bindings.c.subject, role_bindings.c.id)
        if subject is not None:
            query = query.where(role_bindings.c.subject == subject)
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [RoleBindingRecord(**row._mapping) for row in rows]

    def __repr__(self) -> str:
        return f"RoleBindings({self._db.redacted_url!r})"


def _find(
    conn: sa.Connection, subject: str, role: str, environment: str, service: str
) -> RoleBindingRecord | None:
    row = conn.execute(
        sa.select(role_bindings).where(
            role_bindings.c.subject == subject,
            role_bindings.c.role == role,
            role_bindings.c.environment == environment,
            role_bindings.c.service == service,
        )
    ).first()
    return None if row is None else RoleBindingRecord(**row._mapping)


def _insert_binding(
    conn: sa.Connection,
    subject: str,
    role: str,
    environment: str,
    service: str,
    created_by: str,
    now: datetime,
) -> RoleBindingRecord:
    require_text(subject, "subject", max_length=200)
    require_text(role, "role", max_length=20)
    require_text(environment, "environment pattern", max_length=100)
    require_text(service, "service pattern", max_length=100)
    row = conn.execute(
        sa.insert(role_bindings)
        .values(
            subject=subject,
            role=role,
            environment=environment,
            service=service,
            created_at=now,
            created_by=created_by,
        )
        .returning(*role_bindings.c)
    ).one()
    return RoleBindingRecord(**row._mapping)
