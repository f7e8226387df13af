"""Releases: immutable, numbered per service.

There is deliberately no update or delete: a release is what a rollback restores (code, config
snapshot, secret versions and schema range together), so it must never change after it is cut.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from roost.clock import Clock
from roost.store._checks import json_object, require_text
from roost.store.connecting import Database
from roost.store.counters import RELEASE_SEQ, next_value
from roost.store.errors import NotFound
from roost.store.fencing import check_fence
from roost.store.records import Fence, ReleaseRecord
from roost.store.resolving import resolve_id
from roost.store.tables import releases


class Releases:
    """The ``releases`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(
        self,
        service: str,
        *,
        artifact: str,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        schema_requires: str,
        schema_migrates_to: int | None = None,
        created_by: str,
        notes: str = "",
        fence: Fence | None = None,
    ) -> ReleaseRecord:
        """Cut release ``<service>-r<seq>`` with the service's next sequence number.

        Safe under concurrent creation: the number comes from an atomic counter in the same
        transaction, so two creators never get the same one and numbers have no gaps.
        """
        require_text(service, "service", max_length=100)
        require_text(artifact, "artifact", max_length=10_000)
        require_text(created_by, "created_by", max_length=200)
        if not isinstance(schema_requires, str) or len(schema_requires) > 200:
            raise ValueError(f"schema_requires must be a string, got {schema_requires!r}")
        if schema_migrates_to is not None and (
            isinstance(schema_migrates_to, bool) or not isinstance(schema_migrates_to, int)
        ):
            raise TypeError(f"schema_migrates_to must be an int, got {schema_migrates_to!r}")
        values = {
            "service": service,
            "artifact": artifact,
            "config": json_object(config, "config"),
            "secrets": json_object(secrets, "secrets"),
            "schema_requires": schema_requires,
            "schema_migrates_to": schema_migrates_to,
            "created_by": created_by,
            "notes": notes,
        }
        with self._db.writing() as conn:
            check_fence(conn, fence)
            seq = next_value(conn, RELEASE_SEQ, service)
            row = conn.execute(
                sa.insert(releases)
                .values(id=f"{service}-r{seq}", seq=seq, created_at=self._clock.now(), **values)
                .returning(*releases.c)
            ).one()
        return ReleaseRecord(**row._mapping)

    def get(self, release_id: str) -> ReleaseRecord:
        """The release ``release_id``; :class:`NotFound` if there is none."""
        with self._db.reading() as conn:
            row = conn.execute(sa.select(releases).where(releases.c.id == release_id)).first()
        if row is None:
            raise NotFound(f"no release {release_id!r}")
        return ReleaseRecord(**row._mapping)

    def find(self, text: str) -> ReleaseRecord:
        """The release that ``text`` names: its exact id, else a unique leading part of one
        (:mod:`roost.store.resolving`); :class:`NotFound` or :class:`Ambiguous` otherwise."""
        with self._db.reading() as conn:
            release_id = resolve_id(conn, releases.c.id, text, what="release", ulid=False)
        return self.get(release_id)

    def list(self, service: str | None = None, *, limit: int = 50) -> builtins.list[ReleaseRecord]:
        """Releases, newest first, optionally of one service."""
        query = sa.select(releases).order_by(
            releases.c.created_at.desc(), releases.c.service, releases.c.seq.desc()
        )
        if service is not None:
            query = query.where(releases.c.service == service)
        with self._db.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [ReleaseRecord(**row._mapping) for row in rows]

    def latest(self, service: str) -> ReleaseRecord | None:
        """The service's highest-numbered release, or None if it has none."""
        query = (
            sa.select(releases)
            .where(releases.c.service == service)
            .order_by(releases.c.seq.desc())
            .limit(1)
        )
        with self._db.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else ReleaseRecord(**row._mapping)

    def rekey_digests(self, release_id: str, secrets: Mapping[str, Any]) -> None:
        """Replace release ``release_id``'s pinned secrets with the same pins under keyed
        digests. The one change a release ever takes: an unkeyed ``sha256`` of a secret let
        anyone who could read the release guess a short value offline (docs/secrets.md)."""
        with self._db.writing() as conn:
            conn.execute(
                sa.update(releases)
                .where(releases.c.id == release_id)
                .values(secrets=json_object(secrets, "secrets"))
            )

    def __repr__(self) -> str:
        return f"Releases({self._db.redacted_url!r})"
