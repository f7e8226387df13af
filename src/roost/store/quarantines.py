"""Quarantined artifact digests: a deploy of one is refused until it is released.

A row exists while a digest is quarantined; releasing deletes it. Who did either, when and why
is in the audit log (``dev.roost.artifact.quarantined`` / ``.released``), written by the caller.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database
from roost.store.fencing import check_fence
from roost.store.records import Fence
from roost.store.tables import quarantines


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """A quarantined digest, why, by whom and since when."""

    digest: str
    reason: str
    quarantined_by: str
    quarantined_at: datetime


class Quarantines:
    """The ``quarantines`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def add(
        self, digest: str, *, reason: str, by: str, fence: Fence | None = None
    ) -> tuple[QuarantineRecord, bool]:
        """Quarantine ``digest``: the record and whether it is new (quarantining twice keeps
        the first reason: the first finding is the one to explain)."""
        require_text(digest, "digest", max_length=80)
        require_text(reason, "reason", max_length=10_000)
        require_text(by, "quarantined_by", max_length=200)
        with self._db.writing() as conn:
            check_fence(conn, fence)
            row = conn.execute(sa.select(quarantines).where(quarantines.c.digest == digest)).first()
            if row is not None:
                return QuarantineRecord(**row._mapping), False
            values = {
                "digest": digest,
                "reason": reason,
                "quarantined_by": by,
                "quarantined_at": self._clock.now(),
            }
            conn.execute(sa.insert(quarantines).values(**values))
        return QuarantineRecord(**values), True  # type: ignore[arg-type]

    def release(self, digest: str, *, fence: Fence | None = None) -> QuarantineRecord | None:
        """Lift the quarantine of ``digest``: the record it had, or None if it had none."""
        with self._db.writing() as conn:
            check_fence(conn, fence)
            row = conn.execute(sa.select(quarantines).where(quarantines.c.digest == digest)).first()
            if row is None:
                return None
            conn.execute(sa.delete(quarantines).where(quarantines.c.digest == digest))
        return QuarantineRecord(**row._mapping)

    def get(self, digest: str) -> QuarantineRecord | None:
        """The quarantine of ``digest``, or None."""
        with self._db.reading() as conn:
            row = conn.execute(sa.select(quarantines).where(quarantines.c.digest == digest)).first()
        return None if row is None else QuarantineRecord(**row._mapping)

    def list(self) -> builtins.list[QuarantineRecord]:
        """Every quarantined digest, oldest first."""
        with self._db.reading() as conn:
            rows = conn.execute(sa.select(quarantines).order_by(quarantines.c.quarantined_at)).all()
        return [QuarantineRecord(**row._mapping) for row in rows]

    def __repr__(self) -> str:
        return f"Quarantines({self._db.redacted_url!r})"
