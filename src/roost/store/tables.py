"""The store's schema as SQLAlchemy Core tables.

These describe the schema at the newest migration; the migrations in ``migrations/versions``
create it (a test compares the two). Repositories query these tables and turn rows into the
frozen records of :mod:`roost.store.records`, so no ORM object ever leaves the store.

Timestamps are always timezone-aware UTC in Python. PostgreSQL stores them as
``timestamptz``; SQLite has no time type, so :class:`UTCDateTime` stores naive UTC text that
sorts correctly and re-attaches UTC when reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` on both backends; naive datetimes are refused on write."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the store only accepts timezone-aware datetimes, got {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigAutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


releases = sa.Table(
    "releases",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("artifact", sa.Text, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("secrets", sa.JSON, nullable=False),
    sa.Column("schema_requires", sa.String(200), nullable=False),
    sa.Column("schema_migrates_to", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.UniqueConstraint("service", "seq"),
)

rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("environment", sa.String(100), nullable=False),
    sa.Column("from_release", sa.String(200), sa.ForeignKey("releases.id"), nullable=True),
    sa.Column("to_release", sa.String(200), sa.ForeignKey("releases.id"), nullable=False),
    sa.Column("strategy", sa.String(100), nullable=False),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Index("ix_rollouts_service_environment_created_at", "service", "environment", "created_at"),
    # At most one unfinished rollout per (service, environment): two rollouts steering the same
    # router would fight over its weights.
    sa.Index(
        "uq_rollouts_active_service_environment",
        "service",
        "environment",
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    ),
)

rollout_timeline = sa.Table(
    "rollout_timeline",
    metadata,
    sa.Column("id", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column(
        "rollout_id",
        sa.String(40),
        sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_rollout_timeline_rollout_id_id", "rollout_id", "id"),
)

environment_schema = sa.Table(
    "environment_schema",
    metadata,
    sa.Column("environment", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(500), nullable=True),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("datacontenttype", sa.String(100), nullable=True),
    sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("actor", sa.String(200), nullable=True),
    # The hash chain (see roost.store.chaining): NULL only on a row added around roost.
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=True),
    # CloudEvents extension attributes beyond ``actor`` (causation/correlation ids, chain
    # depth); NULL for an event without any, which keeps older events' hashes unchanged.
    sa.Column("extensions", sa.JSON(none_as_null=True), nullable=True),
    # The chain an automation's event belongs to (its extensions' correlationid), as a column
    # so `roost events trace` finds a whole chain with one indexed query (migration 0009).
    sa.Column("correlation_id", sa.String(40), nullable=True),
    sa.Index("uq_events_prev_hash", "prev_hash", unique=True),
    sa.Index("ix_events_correlation_id", "correlation_id"),
    sa.Index("ix_events_type_time", "type", "time"),
    sa.Index("ix_events_subject_time", "subject", "time"),
    sa.Index("ix_events_time", "time"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=True),
    sa.Column("duration_seconds", sa.Float, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("renewed_at", UTCDateTime, nullable=False),
    sa.Column("transitions", sa.Integer, nullable=False),
    sa.Column("fencing_token", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Why the holder holds it (deploy locks); None for leader-election leases.
    sa.Column("reason", sa.String(500), nullable=True),
)

# Monotonic counters that outlive the rows they number: release sequence numbers per service
# ("release", service) and lease fencing high-water marks ("lease", name). Deleting a lease does
# not delete its counter, so a recreated lease continues above every token ever handed out.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Builds: one row per pipeline run, numbered per service (``web-b12``), and one row per step.
# A build's row is inserted with all its steps in one transaction and each transition is its
# own transaction, so the history never shows a build without its steps.
builds = sa.Table(
    "builds",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
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
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("service", "seq"),
    sa.Index("ix_builds_created_at", "created_at"),
)

build_steps = sa.Table(
    "build_steps",
    metadata,
    sa.Column(
        "build_id",
        sa.String(200),
        sa.ForeignKey("builds.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("needs", sa.JSON, nullable=False),
    sa.Column("state", sa.String(50), nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("cache_key", sa.String(100), nullable=True),
    sa.Column("cache_hit", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
)

# The roost.yaml the control plane applied, one row per apply (the newest is what runs): its text,
# a digest of it, who applied it and when. `roost diff` compares the file on disk with the
# newest row; a restarted control plane knows what it had applied.
applied_projects = sa.Table(
    "applied_projects",
    metadata,
    sa.Column("seq", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("applied_by", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

# The event bus (see roost.store.outbox and roost.events).
# The transactional outbox: one row per published event, written in the same transaction as the
# event's row in ``events``, so an event is on the bus exactly when it is in the log. ``seq``
# is assigned under the event log's append lock, so seq order is commit order and a consumer
# can keep a single position (no later row ever appears below a position already read).
event_outbox = sa.Table(
    "event_outbox",
    metadata,
    sa.Column("seq", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("envelope", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# How far each consumer of the outbox has come (a trigger, the JetStream relay).
bus_cursors = sa.Table(
    "bus_cursors",
    metadata,
    sa.Column("consumer", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per (trigger, event): the unit of at-least-once delivery, its retry state and, once
# the retry policy gives up, its place in the dead-letter queue (state ``dead``).
event_deliveries = sa.Table(
    "event_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("trigger", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("envelope", sa.JSON, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("correlation_id", sa.String(40), nullable=False),
    sa.Column("causation_id", sa.String(40), nullable=True),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # When max_age starts counting: enqueued, or replayed from the DLQ (migration 0009).
    sa.Column("retry_since", UTCDateTime, nullable=False),
    sa.UniqueConstraint("trigger", "event_id"),
    sa.Index("ix_event_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    sa.Index("ix_event_deliveries_event_id", "event_id"),
    sa.Index("ix_event_deliveries_correlation_id", "correlation_id"),
    sa.Index("ix_event_deliveries_trigger_created_at", "trigger", "created_at"),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column(
        "delivery_id",
        sa.String(40),
        sa.ForeignKey("event_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_delivery_attempts_delivery_id_id", "delivery_id", "id"),
)

# Triggers a loop guard suspended (and why); a row without suspended_at is a resumed trigger.
trigger_states = sa.Table(
    "trigger_states",
    metadata,
    sa.Column("trigger", sa.String(100), primary_key=True),
    sa.Column("suspended_at", UTCDateTime, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Sealed secrets (``roost secret set``): one row per version, numbered per name across scopes
# (``scope`` is an environment name, or "" for every environment). ``ciphertext`` is the value
# under its own data key; ``wrapped_key`` is that data key under the KEK named by ``kek_id``,
# which never enters the store. ``digest`` is keyed (HMAC), so it reveals nothing offline.
secret_versions = sa.Table(
    "secret_versions",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("scope", sa.String(100), nullable=False),
    sa.Column("ciphertext", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.Text, nullable=False),
    sa.Column("kek_id", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

# Artifact digests that may not be deployed (the quarantine action, `roost artifacts
# quarantine`). A row exists while the digest is quarantined; releasing deletes it, and both
# are audit events, so the history is in the event log.
quarantines = sa.Table(
    "quarantines",
    metadata,
    sa.Column("digest", sa.String(80), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("quarantined_by", sa.String(200), nullable=False),
    sa.Column("quarantined_at", UTCDateTime, nullable=False),
)

# One row per schedule tick that a control plane claimed (ran, or decided not to run): the
# unique (schedule, scheduled_at) makes a tick happen once across control planes, and the row
# is written with the leader's fencing token, so a deposed leader cannot claim one.
schedule_runs = sa.Table(
    "schedule_runs",
    metadata,
    sa.Column("id", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column("schedule", sa.String(100), nullable=False),
    sa.Column("scheduled_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("fencing_token", sa.BigInteger, nullable=True),
    sa.Column("claimed_by", sa.String(200), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.UniqueConstraint("schedule", "scheduled_at"),
)

# API tokens: only a hash of each token is stored (sha256 of 256 random bits: nothing to guess
# offline). The token's name is its subject; what it may do is in role_bindings.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

# Who may do what where: a subject (a token's name, an OIDC subject, or ``group:NAME``) holds a
# role on the environments and services its patterns match (``*`` wildcards).
role_bindings = sa.Table(
    "role_bindings",
    metadata,
    sa.Column("id", BigAutoId, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("environment", sa.String(100), nullable=False),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.UniqueConstraint("subject", "role", "environment", "service"),
)
