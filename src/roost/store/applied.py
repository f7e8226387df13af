"""The roost.yaml the control plane applied: what is running as declared, kept across restarts.

Every apply appends a row (text, digest, who, when); the newest row is the applied project.
Keeping the history costs little (a project file is a few kilobytes) and answers "who changed
what the control plane runs, and when" next to the audit events.
"""

from __future__ import annotations

import builtins
import hashlib

import sqlalchemy as sa

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database
from roost.store.fencing import check_fence
from roost.store.records import AppliedProjectRecord, Fence
from roost.store.tables import applied_projects

MAX_TEXT = 1_000_000
"""A roost.yaml larger than this is not a project file (the biggest examples are ~30 kB)."""


def project_digest(text: str) -> str:
    """``sha256:<hex>`` of the file's text, as it is recorded and compared."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class AppliedProjects:
    """The ``applied_projects`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def record(
        self, text: str, *, applied_by: str, fence: Fence | None = None
    ) -> AppliedProjectRecord:
        """Record that ``text`` is now the applied project."""
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ValueError(f"a project text must be a string of at most {MAX_TEXT} characters")
        require_text(applied_by, "applied_by", max_length=200)
        values = {
            "digest": project_digest(text),
            "text": text,
            "applied_by": applied_by,
            "applied_at": self._clock.now(),
        }
        with self._db.writing() as conn:
            check_fence(conn, fence)
            row = conn.execute(
                sa.insert(applied_projects).values(**values).returning(*applied_projects.c)
            ).one()
        return AppliedProjectRecord(**row._mapping)

    def latest(self) -> AppliedProjectRecord | None:
        """The applied project, or None when nothing was ever applied."""
        with self._db.reading() as conn:
            row = conn.execute(
                sa.select(applied_projects).order_by(applied_projects.c.seq.desc()).limit(1)
            ).first()
        return None if row is None else AppliedProjectRecord(**row._mapping)

    def history(self, *, limit: int = 20) -> builtins.list[AppliedProjectRecord]:
        """The newest ``limit`` applies, newest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                sa.select(applied_projects).order_by(applied_projects.c.seq.desc()).limit(limit)
            ).all()
        return [AppliedProjectRecord(**row._mapping) for row in rows]

    def __repr__(self) -> str:
        return f"AppliedProjects({self._db.redacted_url!r})"
