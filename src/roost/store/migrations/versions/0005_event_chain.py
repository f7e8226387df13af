"""The event log becomes a hash chain: ``prev_hash`` and ``hash`` on every event, the events
already stored chained in insertion order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when tables.py or roost.store.chaining do (a test
# checks that the events chained here verify with roost.store.chaining).
_GENESIS = "0" * 64
_events = sa.table(
    "events",
    sa.column("seq", sa.BigInteger),
    sa.column("id", sa.String),
    sa.column("source", sa.String),
    sa.column("type", sa.String),
    sa.column("subject", sa.String),
    sa.column("time", sa.DateTime(timezone=True)),
    sa.column("datacontenttype", sa.String),
    sa.column("data", sa.JSON),
    sa.column("actor", sa.String),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def _canonical(row: Any) -> bytes:
    time: datetime = row.time
    # SQLite hands back naive UTC text; PostgreSQL an aware timestamptz.
    time = time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)
    envelope = {
        "specversion": "1.0",
        "id": row.id,
        "source": row.source,
        "type": row.type,
        "subject": row.subject,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": row.datacontenttype,
        "data": row.data,
        "actor": row.actor,
    }
    text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def upgrade() -> None:
    op.add_column("events", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("events", sa.Column("hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    prev = _GENESIS
    rows = bind.execute(sa.select(_events).order_by(_events.c.seq)).all()
    for row in rows:
        sealed = hashlib.sha256(prev.encode("ascii") + _canonical(row)).hexdigest()
        bind.execute(
            sa.update(_events).where(_events.c.seq == row.seq).values(prev_hash=prev, hash=sealed)
        )
        prev = sealed
    # After the rows are chained: every prev_hash is distinct, so the index can be built.
    op.create_index("uq_events_prev_hash", "events", ["prev_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_events_prev_hash", table_name="events")
    op.drop_column("events", "hash")
    op.drop_column("events", "prev_hash")
