"""The event bus: the transactional outbox, consumer positions, deliveries (retries and the
dead-letter queue), their attempts, suspended triggers; extension attributes on events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types: a migration must not change when tables.py does.
_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("extensions", sa.JSON(none_as_null=True), nullable=True))
    op.create_table(
        "event_outbox",
        sa.Column("seq", _ID, nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_event_outbox"),
    )
    op.create_table(
        "bus_cursors",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("consumer", name="pk_bus_cursors"),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("correlation_id", sa.String(40), nullable=False),
        sa.Column("causation_id", sa.String(40), nullable=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_event_deliveries"),
        sa.UniqueConstraint("trigger", "event_id", name="uq_event_deliveries_trigger_event_id"),
    )
    op.create_index(
        "ix_event_deliveries_state_next_attempt_at",
        "event_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index("ix_event_deliveries_event_id", "event_deliveries", ["event_id"])
    op.create_index("ix_event_deliveries_correlation_id", "event_deliveries", ["correlation_id"])
    op.create_index(
        "ix_event_deliveries_trigger_created_at", "event_deliveries", ["trigger", "created_at"]
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["event_deliveries.id"],
            name="fk_delivery_attempts_delivery_id_event_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_delivery_attempts_delivery_id_id", "delivery_attempts", ["delivery_id", "id"]
    )
    op.create_table(
        "trigger_states",
        sa.Column("trigger", sa.String(100), nullable=False),
        sa.Column("suspended_at", _TS, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("trigger", name="pk_trigger_states"),
    )


def downgrade() -> None:
    op.drop_table("trigger_states")
    op.drop_table("delivery_attempts")
    op.drop_table("event_deliveries")
    op.drop_table("bus_cursors")
    op.drop_table("event_outbox")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("extensions")
