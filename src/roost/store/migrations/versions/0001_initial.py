"""Initial schema: releases, rollouts and their timeline, environment schema versions, events,
leases and counters.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types: a migration must not change when tables.py does.
_TS = sa.DateTime(timezone=True)
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("artifact", sa.Text, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("secrets", sa.JSON, nullable=False),
        sa.Column("schema_requires", sa.String(200), nullable=False),
        sa.Column("schema_migrates_to", sa.Integer, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_releases"),
        sa.UniqueConstraint("service", "seq", name="uq_releases_service_seq"),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("from_release", sa.String(200), nullable=True),
        sa.Column("to_release", sa.String(200), nullable=False),
        sa.Column("strategy", sa.String(100), nullable=False),
        sa.Column("state", sa.String(100), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
        sa.ForeignKeyConstraint(
            ["from_release"], ["releases.id"], name="fk_rollouts_from_release_releases"
        ),
        sa.ForeignKeyConstraint(
            ["to_release"], ["releases.id"], name="fk_rollouts_to_release_releases"
        ),
    )
    op.create_index(
        "ix_rollouts_service_environment_created_at",
        "rollouts",
        ["service", "environment", "created_at"],
    )
    op.create_index(
        "uq_rollouts_active_service_environment",
        "rollouts",
        ["service", "environment"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "rollout_timeline",
        sa.Column("id", _AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("rollout_id", sa.String(40), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_timeline"),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["rollouts.id"],
            name="fk_rollout_timeline_rollout_id_rollouts",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_rollout_timeline_rollout_id_id", "rollout_timeline", ["rollout_id", "id"])
    op.create_table(
        "environment_schema",
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("environment", name="pk_environment_schema"),
    )
    op.create_table(
        "events",
        sa.Column("seq", _AUTO_ID, nullable=False, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("time", _TS, nullable=False),
        sa.Column("datacontenttype", sa.String(100), nullable=True),
        sa.Column("data", sa.JSON, nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_type_time", "events", ["type", "time"])
    op.create_index("ix_events_subject_time", "events", ["subject", "time"])
    op.create_index("ix_events_time", "events", ["time"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("acquired_at", _TS, nullable=False),
        sa.Column("renewed_at", _TS, nullable=False),
        sa.Column("transitions", sa.Integer, nullable=False),
        sa.Column("fencing_token", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "counters",
        sa.Column("scope", sa.String(50), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_counters"),
    )


def downgrade() -> None:
    for table in (
        "counters",
        "leases",
        "events",
        "environment_schema",
        "rollout_timeline",
        "rollouts",
        "releases",
    ):
        op.drop_table(table)
