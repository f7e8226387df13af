"""Every event type roost records, by name, under one reverse-DNS prefix (``dev.roost.``), and
the one scheme of their ``source``: an absolute path naming the part of roost that acted
(``/roost/control``, ``/roost/builds``, ...).

Base layer, so every package that records an event (store users in control, build, cli,
leases, the agent) names it from here and a reader (``roost events --type``, the SLO watcher's
alert state, ``roost slo history``) finds it by the same constant.

Some types were first recorded without the ``dev.`` prefix (``roost.slo.alert.firing``, ...).
Stored events keep their names; readers that depend on them ask for both
(:func:`with_legacy`), so an alert that fired before an upgrade is still one alert after it.
"""

from __future__ import annotations

PREFIX = "dev.roost."

# -- sources: absolute, one per acting part -----------------------------------------------------
SOURCE_CONTROL = "/roost/control"
SOURCE_ROLLOUTS = "/roost/control/rollouts"
SOURCE_SLOS = "/roost/control/slos"
SOURCE_ALERTS = "/roost/control/alerts"
SOURCE_SERVE = "/roost/serve"
SOURCE_BUILDS = "/roost/builds"
SOURCE_CLI = "/roost/cli"
SOURCE_AUTH = "/roost/auth"
SOURCE_EVENTS = "/roost/control/events"
SOURCE_SCAN = "/roost/scan"
SOURCE_ACTIONS = "/roost/control/actions"

_URI_SCHEME = "roost:"
"""The event log stores a source as an absolute path; on the bus it is an absolute URI (the
CloudEvents spec recommends one): ``roost:/roost/control``. One scheme, so a subscriber can
tell roost's events from anything else on a shared JetStream."""


def absolute_source(source: str) -> str:
    """``source`` as the bus carries it: an absolute URI (unchanged if it already is one)."""
    if source.startswith("/"):
        return _URI_SCHEME + source
    return source


# -- the data plane, as the control plane drives it ---------------------------------------------
REVISION_STARTED = PREFIX + "revision.started"
REVISION_STOPPED = PREFIX + "revision.stopped"
TRAFFIC_WEIGHTS = PREFIX + "traffic.weights"
CONTROL_ADOPTED = PREFIX + "control.adopted"
CONTROL_LEADING = PREFIX + "control.leading"
API_STARTED = PREFIX + "api.started"
API_STOPPED = PREFIX + "api.stopped"

# -- workload identity ---------------------------------------------------------------------------
IDENTITY_KEY_ROTATED = PREFIX + "identity.key_rotated"

# -- the agent, its heartbeat and its restarts -------------------------------------------------
AGENT_READY = PREFIX + "agent.ready"
AGENT_NOT_READY = PREFIX + "agent.not_ready"
AGENT_RESTARTED = PREFIX + "agent.restarted"

# -- leases and locks ---------------------------------------------------------------------------
LEASE_DELETED = PREFIX + "lease.deleted"
LOCK_ACQUIRED = PREFIX + "lock.acquired"
LOCK_RELEASED = PREFIX + "lock.released"

# -- desired state and the audit log -----------------------------------------------------------
PROJECT_APPLIED = PREFIX + "project.applied"
AUDIT_CHECKPOINT = PREFIX + "audit.checkpoint"

# -- credentials and roles (who may do what: every change is an admin's, audited) ------------
AUTH_TOKEN_CREATED = PREFIX + "auth.token.created"
AUTH_TOKEN_REVOKED = PREFIX + "auth.token.revoked"
AUTH_ROLE_GRANTED = PREFIX + "auth.role.granted"
AUTH_ROLE_REVOKED = PREFIX + "auth.role.revoked"

# -- rollouts and the guards in front of them ---------------------------------------------------
ROLLOUT = PREFIX + "rollout."
"""+ the transition's headline (started, step, promoted, aborted, traffic_reverted, ...)."""
ROLLBACK_FORCED = PREFIX + "rollback.forced"
PROMOTION_FORCED = PREFIX + "promotion.forced"
SCAN_OVERRIDDEN = PREFIX + "scan.overridden"
BUDGET_OVERRIDDEN = PREFIX + "slo.budget_gate.overridden"

# -- SLOs and alerts ---------------------------------------------------------------------------
SLO = PREFIX + "slo."
SLO_ALERT = PREFIX + "slo.alert."
SLO_ALERT_FIRING = SLO_ALERT + "firing"
SLO_ALERT_RESOLVED = SLO_ALERT + "resolved"
SLO_SILENCE_CREATED = PREFIX + "slo.silence.created"
ALERTS = PREFIX + "alerts."
ALERT_DELIVERED = ALERTS + "delivered"
ALERT_DELIVERY_FAILED = ALERTS + "delivery_failed"

# -- builds ------------------------------------------------------------------------------------
BUILD = PREFIX + "build."
"""+ the build's state at the end (succeeded, failed, cancelled)."""
BUILD_STARTED = BUILD + "started"
BUILD_CANCEL_REQUESTED = BUILD + "cancel_requested"

# -- scans -------------------------------------------------------------------------------------
SCAN_COMPLETED = PREFIX + "scan.completed"
SCAN_VULNERABILITY_FOUND = PREFIX + "scan.vulnerability_found"

# -- the event bus: triggers, deliveries, the dead-letter queue, loop guards -------------------
EVENTS = PREFIX + "events."
DELIVERY_DEAD_LETTERED = EVENTS + "delivery.dead_lettered"
"""A delivery exhausted its trigger's retry policy and is in the dead-letter queue."""
DLQ_GROWING = EVENTS + "dlq.growing"
"""The dead-letter queue got deeper than it was: someone must look (``roost events dlq``)."""
DLQ_REPLAYED = EVENTS + "dlq.replayed"
DLQ_PURGED = EVENTS + "dlq.purged"
TRIGGER_SUSPENDED = EVENTS + "trigger.suspended"
"""A loop guard (chain depth, rate limit, cooldown) stopped a trigger; data says which and why."""
TRIGGER_RESUMED = EVENTS + "trigger.resumed"

# -- actions (run by schedules and triggers) and what they change -------------------------------
SOURCE_SCHEDULES = "/roost/control/schedules"
ACTION = PREFIX + "action."
ACTION_SUCCEEDED = ACTION + "succeeded"
ACTION_FAILED = ACTION + "failed"
ARTIFACT_QUARANTINED = PREFIX + "artifact.quarantined"
ARTIFACT_RELEASED = PREFIX + "artifact.released"
ENVIRONMENT_STOPPED = PREFIX + "environment.stopped"
ENVIRONMENT_STARTED = PREFIX + "environment.started"
SERVICE_SCALED = PREFIX + "service.scaled"

# -- schedules ---------------------------------------------------------------------------------
SCHEDULE = PREFIX + "schedule."
SCHEDULE_RUN = SCHEDULE + "run"
"""A tick claimed and its action started (the action's own event follows)."""
SCHEDULE_MISSED = SCHEDULE + "missed"
"""Ticks that passed while no control plane led, or past their starting deadline."""
SCHEDULE_SKIPPED = SCHEDULE + "skipped"
"""A tick not run because of the concurrency policy (forbid: the previous run still runs)."""
SCHEDULE_REPLACED = SCHEDULE + "replaced"
"""A running tick cancelled by a newer one (concurrency: replace)."""

_LEGACY_PREFIX = "roost."
"""Types recorded before the one prefix: the same name without ``dev.``."""
_RENAMED = (SLO, ALERTS, BUILD)


def legacy_name(type_or_prefix: str) -> str | None:
    """The name ``type_or_prefix`` was stored under before it had the ``dev.`` prefix, if it
    was renamed; None for types that always had it."""
    if any(type_or_prefix.startswith(p) for p in _RENAMED):
        return _LEGACY_PREFIX + type_or_prefix.removeprefix(PREFIX)
    return None


def with_legacy(type_or_prefix: str) -> tuple[str, ...]:
    """``type_or_prefix`` and, for a renamed one, its older name: what a reader asks for."""
    old = legacy_name(type_or_prefix)
    return (type_or_prefix,) if old is None else (type_or_prefix, old)


def current_name(type_: str) -> str:
    """A stored type under its current name (``roost.slo.alert.firing`` → ``dev.roost.…``)."""
    if type_.startswith(_LEGACY_PREFIX) and legacy_name(PREFIX + type_.removeprefix("roost.")):
        return PREFIX + type_.removeprefix(_LEGACY_PREFIX)
    return type_


# -- sealed secrets (never a value: the name, version and environment) -------------------------
SOURCE_SECRETS = "/roost/secrets"
SECRET = PREFIX + "secret."
SECRET_SET = SECRET + "set"
"""A new version of a sealed secret: ``roost secret set``, or an env:/file: value a release read."""
SECRET_KEY_ROTATED = SECRET + "key_rotated"
"""Every data key re-wrapped under a new key-encryption key (its public id and the count)."""
