"""Which database schema version each environment runs.

Rollbacks read this to refuse going back to a release that cannot run against the current
schema; migrations (run by deploys) write it, fenced like any control-plane write.
"""

from __future__ import annotations

import builtins

import sqlalchemy as sa

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database, upsert_insert
from roost.store.fencing import check_fence
from roost.store.records import EnvironmentSchemaRecord, Fence
from roost.store.tables import environment_schema


class Environments:
    """The ``environment_schema`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def schema_version(self, environment: str) -> int | None:
        """The environment's current schema version, or None if none was ever recorded."""
        record = self.get(environment)
        return None if record is None else record.version

    def get(self, environment: str) -> EnvironmentSchemaRecord | None:
        with self._db.reading() as conn:
            row = conn.execute(
                sa.select(environment_schema).where(environment_schema.c.environment == environment)
            ).first()
        return None if row is None else EnvironmentSchemaRecord(**row._mapping)

    def list(self) -> builtins.list[EnvironmentSchemaRecord]:
        """Every environment with a recorded schema version, by name."""
        with self._db.reading() as conn:
            rows = conn.execute(
                sa.select(environment_schema).order_by(environment_schema.c.environment)
            ).all()
        return [EnvironmentSchemaRecord(**row._mapping) for row in rows]

    def set_schema_version(
        self, environment: str, version: int, *, fence: Fence | None = None
    ) -> EnvironmentSchemaRecord:
        """Record that ``environment`` now runs schema ``version`` (any direction: a down
        migration lowers it)."""
        require_text(environment, "environment", max_length=100)
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValueError(f"schema version must be a non-negative int, got {version!r}")
        with self._db.writing() as conn:
            check_fence(conn, fence)
            now = self._clock.now()
            row = conn.execute(
                upsert_insert(conn, environment_schema)
                .values(environment=environment, version=version, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[environment_schema.c.environment],
                    set_={"version": version, "updated_at": now},
                )
                .returning(*environment_schema.c)
            ).one()
        return EnvironmentSchemaRecord(**row._mapping)

    def __repr__(self) -> str:
        return f"Environments({self._db.redacted_url!r})"
