"""The applied roost.yaml: one row per apply, the newest is what the control plane runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types: a migration must not change when tables.py does.
_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "applied_projects",
        sa.Column("seq", _ID, nullable=False, autoincrement=True),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
        sa.Column("applied_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_applied_projects"),
    )


def downgrade() -> None:
    op.drop_table("applied_projects")
