"""Event tracing: ``events.correlation_id`` (indexed) for a chain's events, and
``event_deliveries.retry_since`` (when a delivery's max_age counts from: enqueued, or replayed).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("correlation_id", sa.String(40), nullable=True))
    op.create_index("ix_events_correlation_id", "events", ["correlation_id"])
    with op.batch_alter_table("event_deliveries") as batch:
        # Rows from 0006 (none in practice: it shipped minutes before) count from creation.
        batch.add_column(sa.Column("retry_since", _TS, nullable=True))
    op.execute("UPDATE event_deliveries SET retry_since = created_at")
    with op.batch_alter_table("event_deliveries") as batch:
        batch.alter_column("retry_since", existing_type=_TS, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("event_deliveries") as batch:
        batch.drop_column("retry_since")
    op.drop_index("ix_events_correlation_id", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("correlation_id")
