"""Schedule runs (one row per claimed tick, unique per schedule and tick) and quarantined
artifact digests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types: a migration must not change when tables.py does.
_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quarantines",
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("quarantined_by", sa.String(200), nullable=False),
        sa.Column("quarantined_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_quarantines"),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("scheduled_at", _TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("fencing_token", sa.BigInteger, nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_runs"),
        sa.UniqueConstraint(
            "schedule", "scheduled_at", name="uq_schedule_runs_schedule_scheduled_at"
        ),
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
    op.drop_table("quarantines")
