"""Build history: builds (numbered per service) and their steps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types: a migration must not change when tables.py does.
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "builds",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ref", sa.String(500), nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(500), nullable=False),
        sa.Column("trigger", sa.String(50), nullable=False),
        sa.Column("state", sa.String(50), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("artifact", sa.String(100), nullable=True),
        sa.Column("release_id", sa.String(200), nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("runner", sa.String(300), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_builds"),
        sa.UniqueConstraint("service", "seq", name="uq_builds_service_seq"),
    )
    op.create_index("ix_builds_created_at", "builds", ["created_at"])
    op.create_table(
        "build_steps",
        sa.Column("build_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("needs", sa.JSON, nullable=False),
        sa.Column("state", sa.String(50), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("cache_key", sa.String(100), nullable=True),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("build_id", "name", name="pk_build_steps"),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name="fk_build_steps_build_id_builds",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("build_steps")
    op.drop_index("ix_builds_created_at", table_name="builds")
    op.drop_table("builds")
