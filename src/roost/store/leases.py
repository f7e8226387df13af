"""Leases as rows: holder, duration, acquire/renew times, transitions and a fencing token.

A *tenure* starts whenever the lease passes to a holder who did not hold it a moment ago (first
acquisition, takeover after expiry, re-acquisition after a release). Every tenure gets a new
fencing token from the ``counters`` table, which outlives the lease row, so tokens for a name
only ever grow, even across delete and recreate. A holder that re-acquires or renews a lease it
still holds keeps its tenure and its token.

Expiry here is judged by the store's clock (``renewed_at + duration``); leader election with
observer-side clocks builds on top of this.

Every operation locks the lease row (PostgreSQL ``SELECT … FOR UPDATE``; SQLite ``BEGIN
IMMEDIATE``) before deciding, so two contenders cannot both win.
"""

from __future__ import annotations

import builtins
import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database, upsert_insert
from roost.store.counters import LEASE_TOKEN, next_value
from roost.store.errors import Conflict, NotFound
from roost.store.records import LeaseRecord
from roost.store.tables import leases


class Leases:
    """The ``leases`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def get(self, name: str) -> LeaseRecord | None:
        """The lease ``name``, or None if it does not exist (which means it is free)."""
        with self._db.reading() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
        return None if row is None else LeaseRecord(**row._mapping)

    def list(self) -> builtins.list[LeaseRecord]:
        """Every lease, by name."""
        with self._db.reading() as conn:
            rows = conn.execute(sa.select(leases).order_by(leases.c.name)).all()
        return [LeaseRecord(**row._mapping) for row in rows]

    def try_acquire(self, name: str, holder: str, *, duration_seconds: float) -> LeaseRecord | None:
        """Take the lease if it is free, released, expired, or already ours; else None.

        Taking it from nobody or from someone else starts a new tenure (new fencing token,
        ``transitions`` + 1 unless it is the lease's first tenure). Re-acquiring a lease we
        hold renews it and keeps the token.
        """
        require_text(name, "lease name", max_length=200)
        require_text(holder, "lease holder", max_length=200)
        duration_seconds = _check_duration(duration_seconds)
        with self._db.writing() as conn:
            now = self._clock.now()
            _ensure_row(conn, name, now, duration_seconds)
            current = _locked(conn, name)
            assert current is not None
            if current.holder == holder:
                values: dict[str, object] = {"renewed_at": now}
            elif current.expired(now):
                # token 0 marks the placeholder _ensure_row inserted: no previous tenure.
                first = current.fencing_token == 0
                values = {
                    "holder": holder,
                    "acquired_at": now,
                    "renewed_at": now,
                    "fencing_token": next_value(conn, LEASE_TOKEN, name),
                    "transitions": current.transitions + (0 if first else 1),
                }
            else:
                return None
            return _update(conn, name, duration_seconds=duration_seconds, **values)

    def renew(
        self, name: str, holder: str, *, duration_seconds: float | None = None
    ) -> LeaseRecord:
        """Extend ``holder``'s claim from now (optionally with a new duration).

        :class:`NotFound` if the lease does not exist; :class:`Conflict` if ``holder`` does not
        hold it (released, or taken over by someone else after expiry). A lease that expired
        but that nobody took is still ``holder``'s and can be renewed.
        """
        if duration_seconds is not None:
            duration_seconds = _check_duration(duration_seconds)
        with self._db.writing() as conn:
            current = _require_holder(conn, name, holder)
            return _update(
                conn,
                name,
                renewed_at=self._clock.now(),
                duration_seconds=(
                    current.duration_seconds if duration_seconds is None else duration_seconds
                ),
            )

    def release(self, name: str, holder: str) -> LeaseRecord:
        """Give the lease up so anyone may take it at once. Releasing a lease nobody holds is a
        no-op; :class:`Conflict` if someone else holds it; :class:`NotFound` if it does not
        exist. The fencing token stays as it was (the next tenure gets a higher one)."""
        with self._db.writing() as conn:
            current = _locked(conn, name)
            if current is None:
                raise NotFound(f"no lease {name!r}")
            if current.holder is None:
                return current
            if current.holder != holder:
                raise Conflict(f"lease {name!r} is held by {current.holder!r}, not {holder!r}")
            return _update(conn, name, holder=None)

    def delete(self, name: str) -> bool:
        """Remove the lease row; True if there was one. Its fencing high-water mark stays."""
        with self._db.writing() as conn:
            result = conn.execute(sa.delete(leases).where(leases.c.name == name))
            return result.rowcount > 0

    def __repr__(self) -> str:
        return f"Leases({self._db.redacted_url!r})"


def _check_duration(duration_seconds: float) -> float:
    if (
        isinstance(duration_seconds, bool)
        or not isinstance(duration_seconds, int | float)
        or not math.isfinite(duration_seconds)
        or duration_seconds <= 0
    ):
        raise ValueError(f"duration_seconds must be a positive number, got {duration_seconds!r}")
    return float(duration_seconds)


def _ensure_row(conn: Connection, name: str, now: datetime, duration_seconds: float) -> None:
    # Insert a free placeholder if the lease does not exist, so that the row can be locked.
    # ON CONFLICT DO NOTHING makes a concurrent creator on PostgreSQL wait for the other
    # transaction instead of failing with a unique violation.
    conn.execute(
        upsert_insert(conn, leases)
        .values(
            name=name,
            holder=None,
            duration_seconds=duration_seconds,
            acquired_at=now,
            renewed_at=now,
            transitions=0,
            fencing_token=0,
            version=0,
        )
        .on_conflict_do_nothing(index_elements=[leases.c.name])
    )


def _locked(conn: Connection, name: str) -> LeaseRecord | None:
    row = conn.execute(sa.select(leases).where(leases.c.name == name).with_for_update()).first()
    return None if row is None else LeaseRecord(**row._mapping)


def _require_holder(conn: Connection, name: str, holder: str) -> LeaseRecord:
    current = _locked(conn, name)
    if current is None:
        raise NotFound(f"no lease {name!r}")
    if current.holder is None:
        raise Conflict(f"lease {name!r} is not held by {holder!r}: it has been released")
    if current.holder != holder:
        raise Conflict(f"lease {name!r} is held by {current.holder!r}, not {holder!r}")
    return current


def _update(conn: Connection, name: str, **values: object) -> LeaseRecord:
    row = conn.execute(
        sa.update(leases)
        .where(leases.c.name == name)
        .values(version=leases.c.version + 1, **values)
        .returning(*leases.c)
    ).one()
    return LeaseRecord(**row._mapping)
