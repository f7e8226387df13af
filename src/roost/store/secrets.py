"""Sealed secret versions: stored encrypted, numbered per name, never updated in place —
except that :meth:`Secrets.rewrap` re-wraps every data key under a new KEK in one transaction.

The store never sees a value or a KEK: it keeps what :mod:`roost.secrets` sealed.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

import sqlalchemy as sa

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database
from roost.store.counters import next_value
from roost.store.errors import NotFound
from roost.store.records import SecretVersionRecord
from roost.store.tables import secret_versions

SECRET_SEQ = "secret"  # noqa: S105 - a counter scope, not a secret


class StaleKey(RuntimeError):
    """A new version sealed under a KEK that is no longer the store's (rotated meanwhile)."""


# (name, version, wrapped_key, kek_id) → (new wrapped_key, new kek_id)
Rewrapper = Callable[[str, int, str, str], tuple[str, str]]


class Secrets:
    """The ``secret_versions`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def add(
        self,
        name: str,
        *,
        scope: str,
        seal: Callable[[int], tuple[str, str, str]],
        digest: str,
        created_by: str,
    ) -> SecretVersionRecord:
        """Store the next version of ``name``. ``seal(version)`` returns (ciphertext,
        wrapped_key, kek_id) for that version number (it is bound into the encryption)."""
        require_text(name, "name", max_length=300)
        require_text(created_by, "created_by", max_length=200)
        with self._db.writing() as conn:
            version = next_value(conn, SECRET_SEQ, name)
            ciphertext, wrapped_key, kek_id = seal(version)
            # Checked in the same transaction as the insert (which a rotation's re-wrap
            # excludes): a writer still holding the KEK of before a rotation must not add a
            # row the new KEK cannot open.
            other = conn.execute(
                sa.select(secret_versions.c.kek_id)
                .where(secret_versions.c.kek_id != kek_id)
                .limit(1)
            ).first()
            if other is not None:
                raise StaleKey(
                    f"the store's secrets are wrapped under key {other[0]}, not {kek_id}"
                )
            row = conn.execute(
                sa.insert(secret_versions)
                .values(
                    name=name,
                    version=version,
                    scope=scope,
                    ciphertext=ciphertext,
                    wrapped_key=wrapped_key,
                    kek_id=kek_id,
                    digest=digest,
                    created_at=self._clock.now(),
                    created_by=created_by,
                )
                .returning(*secret_versions.c)
            ).one()
        return SecretVersionRecord(**row._mapping)

    def get(self, name: str, version: int) -> SecretVersionRecord:
        with self._db.reading() as conn:
            row = conn.execute(
                sa.select(secret_versions).where(
                    secret_versions.c.name == name, secret_versions.c.version == version
                )
            ).first()
        if row is None:
            raise NotFound(f"no version {version} of secret {name!r}")
        return SecretVersionRecord(**row._mapping)

    def versions(self, name: str | None = None) -> builtins.list[SecretVersionRecord]:
        """Every version (of ``name``), by name then newest first."""
        query = sa.select(secret_versions).order_by(
            secret_versions.c.name, secret_versions.c.version.desc()
        )
        if name is not None:
            query = query.where(secret_versions.c.name == name)
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [SecretVersionRecord(**row._mapping) for row in rows]

    def rewrap(self, rewrapper: Rewrapper) -> int:
        """Re-wrap every data key with ``rewrapper`` in ONE transaction: if it raises for any
        row, no row changes (there is never a half-rotated store). Returns the row count."""
        count = 0
        with self._db.writing() as conn:
            rows = conn.execute(
                sa.select(
                    secret_versions.c.name,
                    secret_versions.c.version,
                    secret_versions.c.wrapped_key,
                    secret_versions.c.kek_id,
                ).order_by(secret_versions.c.name, secret_versions.c.version)
            ).all()
            for name, version, wrapped, kek in rows:
                new_wrapped, new_kek = rewrapper(name, version, wrapped, kek)
                conn.execute(
                    sa.update(secret_versions)
                    .where(secret_versions.c.name == name, secret_versions.c.version == version)
                    .values(wrapped_key=new_wrapped, kek_id=new_kek)
                )
                count += 1
        return count

    def __repr__(self) -> str:
        return f"Secrets({self._db.redacted_url!r})"
