"""Deliveries of events to triggers: at-least-once, retried, dead-lettered.

A delivery is one (trigger, event) pair; the pair is unique, so an event the bus hands over
twice (a JetStream redelivery, a relay that crashed before its acknowledgement) is delivered
once per trigger here, and the sink still gets the event id (``ce-id``) to drop duplicates of
its own. States:

* ``pending`` — waiting for its next attempt at ``next_attempt_at``;
* ``delivered`` — a sink took it;
* ``dead`` — the retry policy gave up: the dead-letter queue. ``replay`` makes it pending
  again, ``purge`` deletes it.
* ``skipped`` — a loop guard stopped it (the trigger is suspended); kept for the trace.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from roost.clock import Clock
from roost.store.connecting import Database
from roost.store.errors import NotFound
from roost.store.ids import new_id
from roost.store.resolving import resolve_id
from roost.store.tables import delivery_attempts, event_deliveries, trigger_states

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
SKIPPED = "skipped"
STATES = (PENDING, DELIVERED, DEAD, SKIPPED)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One event on its way to one trigger's sink."""

    id: str
    trigger: str
    event_id: str
    event_type: str
    envelope: dict[str, Any]
    state: str
    attempts: int
    correlation_id: str
    causation_id: str | None
    depth: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    retry_since: datetime
    """When the retry policy's ``max_age`` started counting: enqueued, or last replayed."""


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One try of a delivery: when, how long, and what the sink said."""

    id: int
    delivery_id: str
    attempt: int
    started_at: datetime
    duration_ms: float
    ok: bool
    status: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """What the dispatcher asks to deliver (see :meth:`Deliveries.enqueue`)."""

    trigger: str
    envelope: dict[str, Any]
    correlation_id: str
    causation_id: str | None
    depth: int
    state: str = PENDING
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerState:
    """A suspended trigger and why."""

    trigger: str
    suspended_at: datetime | None
    reason: str | None
    updated_at: datetime


class Deliveries:
    """The ``event_deliveries``, ``delivery_attempts`` and ``trigger_states`` tables."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- enqueueing ---------------------------------------------------------------------------

    def enqueue(
        self, new: Sequence[NewDelivery], *, conn: Connection | None = None
    ) -> builtins.list[str]:
        """Insert deliveries that do not exist yet (same trigger and event id: skipped);
        the ids of the ones inserted. ``conn``: a write transaction the caller holds.
        Within one call, give each (trigger, event id) once."""
        if conn is not None:
            return self._enqueue(conn, new)
        with self._db.writing() as own:
            return self._enqueue(own, new)

    def _enqueue(self, conn: Connection, new: Sequence[NewDelivery]) -> builtins.list[str]:
        if not new:
            return []
        now = self._clock.now()
        rows = [
            {
                "id": new_id(now),
                "trigger": item.trigger,
                "event_id": str(item.envelope["id"]),
                "event_type": str(item.envelope.get("type", "")),
                "envelope": item.envelope,
                "state": item.state,
                "attempts": 0,
                "correlation_id": item.correlation_id,
                "causation_id": item.causation_id,
                "depth": item.depth,
                "created_at": now,
                "updated_at": now,
                "next_attempt_at": now if item.state == PENDING else None,
                "delivered_at": None,
                "last_error": item.last_error,
                "retry_since": now,
            }
            for item in new
        ]
        # One statement for the batch; the (trigger, event id) key drops a repeat.
        insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        statement = insert(event_deliveries).on_conflict_do_nothing(
            index_elements=["trigger", "event_id"]
        )
        conn.execute(statement, rows)
        keys = {(r["trigger"], r["event_id"]): r["id"] for r in rows}
        stored = conn.execute(
            sa.select(event_deliveries.c.id).where(event_deliveries.c.id.in_(list(keys.values())))
        ).all()
        return [str(row.id) for row in stored]

    def writing(self) -> Any:
        """A write transaction, to enqueue and move a bus position together."""
        return self._db.writing()

    # -- attempts -----------------------------------------------------------------------------

    def due(
        self, *, limit: int = 100, exclude: Sequence[str] = ()
    ) -> builtins.list[DeliveryRecord]:
        """Pending deliveries whose next attempt is due now, oldest first."""
        query = (
            sa.select(event_deliveries)
            .where(
                event_deliveries.c.state == PENDING,
                event_deliveries.c.next_attempt_at <= self._clock.now(),
            )
            .order_by(event_deliveries.c.next_attempt_at, event_deliveries.c.id)
            .limit(limit)
        )
        if exclude:
            query = query.where(event_deliveries.c.trigger.not_in(list(exclude)))
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [DeliveryRecord(**row._mapping) for row in rows]

    def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery is due (None when nothing is pending)."""
        with self._db.reading() as conn:
            value = conn.execute(
                sa.select(sa.func.min(event_deliveries.c.next_attempt_at)).where(
                    event_deliveries.c.state == PENDING
                )
            ).scalar_one()
        return value if value is None else _aware(value)

    def record_attempt(
        self,
        delivery_id: str,
        *,
        started_at: datetime,
        duration_ms: float,
        ok: bool,
        status: int | None,
        detail: str | None,
        state: str,
        next_attempt_at: datetime | None,
    ) -> DeliveryRecord:
        """Log one attempt and move the delivery to ``state`` (delivered, pending again at
        ``next_attempt_at``, or dead)."""
        now = self._clock.now()
        with self._db.writing() as conn:
            row = conn.execute(
                sa.select(event_deliveries.c.attempts).where(event_deliveries.c.id == delivery_id)
            ).first()
            if row is None:
                raise NotFound(f"no delivery {delivery_id!r}")
            attempt = int(row.attempts) + 1  # within this retry budget (replay resets it)
            # Attempts are numbered across replays, so the log reads 1, 2, 3 (dead), 4 (replay).
            number = 1 + int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(delivery_attempts)
                    .where(delivery_attempts.c.delivery_id == delivery_id)
                ).scalar_one()
            )
            conn.execute(
                sa.insert(delivery_attempts).values(
                    delivery_id=delivery_id,
                    attempt=number,
                    started_at=started_at,
                    duration_ms=duration_ms,
                    ok=ok,
                    status=status,
                    detail=None if detail is None else detail[:2000],
                )
            )
            updated = conn.execute(
                sa.update(event_deliveries)
                .where(event_deliveries.c.id == delivery_id)
                .values(
                    attempts=attempt,
                    state=state,
                    updated_at=now,
                    next_attempt_at=next_attempt_at,
                    delivered_at=now if ok else None,
                    last_error=None if ok else (detail or "")[:2000],
                )
                .returning(*event_deliveries.c)
            ).one()
        return DeliveryRecord(**updated._mapping)

    def attempts(self, delivery_id: str) -> builtins.list[AttemptRecord]:
        """A delivery's attempts, first first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                sa.select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id == delivery_id)
                .order_by(delivery_attempts.c.id)
            ).all()
        return [AttemptRecord(**row._mapping) for row in rows]

    # -- reading ------------------------------------------------------------------------------

    def get(self, delivery_id: str) -> DeliveryRecord:
        with self._db.reading() as conn:
            row = conn.execute(
                sa.select(event_deliveries).where(event_deliveries.c.id == delivery_id)
            ).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id!r}")
        return DeliveryRecord(**row._mapping)

    def find(self, text: str) -> DeliveryRecord:
        """The delivery ``text`` names: its id or a unique leading part of one."""
        with self._db.reading() as conn:
            found = resolve_id(conn, event_deliveries.c.id, text, what="delivery", ulid=True)
        return self.get(found)

    def list(
        self,
        *,
        state: str | None = None,
        trigger: str | None = None,
        event_id: str | None = None,
        correlation_id: str | None = None,
        limit: int = 100,
    ) -> builtins.list[DeliveryRecord]:
        """Deliveries oldest first, filtered."""
        query = sa.select(event_deliveries).order_by(event_deliveries.c.id).limit(limit)
        if state is not None:
            query = query.where(event_deliveries.c.state == state)
        if trigger is not None:
            query = query.where(event_deliveries.c.trigger == trigger)
        if event_id is not None:
            query = query.where(event_deliveries.c.event_id == event_id)
        if correlation_id is not None:
            query = query.where(event_deliveries.c.correlation_id == correlation_id)
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [DeliveryRecord(**row._mapping) for row in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """How many deliveries each (trigger, state) has."""
        query = sa.select(
            event_deliveries.c.trigger, event_deliveries.c.state, sa.func.count()
        ).group_by(event_deliveries.c.trigger, event_deliveries.c.state)
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return {(str(t), str(s)): int(n) for t, s, n in rows}

    def count(self, state: str) -> int:
        """How many deliveries are in ``state`` (indexed)."""
        query = (
            sa.select(sa.func.count())
            .select_from(event_deliveries)
            .where(event_deliveries.c.state == state)
        )
        with self._db.reading() as conn:
            return int(conn.execute(query).scalar_one())

    def started_since(self, trigger: str, since: datetime) -> int:
        """How many deliveries ``trigger`` was given since ``since`` (its rate)."""
        query = (
            sa.select(sa.func.count())
            .select_from(event_deliveries)
            .where(
                event_deliveries.c.trigger == trigger,
                event_deliveries.c.created_at >= since,
                event_deliveries.c.state != SKIPPED,
            )
        )
        with self._db.reading() as conn:
            return int(conn.execute(query).scalar_one())

    def last_started(self, trigger: str) -> datetime | None:
        """When ``trigger`` was last given a delivery (its cooldown)."""
        query = sa.select(sa.func.max(event_deliveries.c.created_at)).where(
            event_deliveries.c.trigger == trigger, event_deliveries.c.state != SKIPPED
        )
        with self._db.reading() as conn:
            value = conn.execute(query).scalar_one()
        return None if value is None else _aware(value)

    # -- the dead-letter queue ----------------------------------------------------------------

    def replay(self, ids: Sequence[str] = (), *, trigger: str | None = None) -> int:
        """Make dead deliveries pending again, due now, with a fresh attempt count (the
        attempts so far stay in the log): ``ids``, or every dead one (of ``trigger``)."""
        now = self._clock.now()
        with self._db.writing() as conn:
            query = sa.update(event_deliveries).where(event_deliveries.c.state == DEAD)
            if ids:
                query = query.where(event_deliveries.c.id.in_(list(ids)))
            if trigger is not None:
                query = query.where(event_deliveries.c.trigger == trigger)
            result = conn.execute(
                query.values(
                    state=PENDING, attempts=0, next_attempt_at=now, updated_at=now, retry_since=now
                )
            )
        return int(result.rowcount or 0)

    def purge(self, ids: Sequence[str] = (), *, trigger: str | None = None) -> int:
        """Delete dead deliveries (and their attempts): ``ids``, or all (of ``trigger``)."""
        with self._db.writing() as conn:
            query = sa.select(event_deliveries.c.id).where(event_deliveries.c.state == DEAD)
            if ids:
                query = query.where(event_deliveries.c.id.in_(list(ids)))
            if trigger is not None:
                query = query.where(event_deliveries.c.trigger == trigger)
            doomed = [str(row.id) for row in conn.execute(query).all()]
            if doomed:
                conn.execute(
                    sa.delete(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(doomed))
                )
                conn.execute(sa.delete(event_deliveries).where(event_deliveries.c.id.in_(doomed)))
        return len(doomed)

    # -- suspended triggers -------------------------------------------------------------------

    def suspend(self, trigger: str, reason: str) -> bool:
        """Suspend ``trigger``; False if it already was."""
        now = self._clock.now()
        with self._db.writing() as conn:
            row = conn.execute(
                sa.select(trigger_states.c.suspended_at).where(trigger_states.c.trigger == trigger)
            ).first()
            if row is not None and row.suspended_at is not None:
                return False
            if row is None:
                conn.execute(
                    sa.insert(trigger_states).values(
                        trigger=trigger, suspended_at=now, reason=reason, updated_at=now
                    )
                )
            else:
                conn.execute(
                    sa.update(trigger_states)
                    .where(trigger_states.c.trigger == trigger)
                    .values(suspended_at=now, reason=reason, updated_at=now)
                )
        return True

    def resume(self, trigger: str) -> bool:
        """Lift ``trigger``'s suspension; False if it was not suspended."""
        now = self._clock.now()
        with self._db.writing() as conn:
            result = conn.execute(
                sa.update(trigger_states)
                .where(
                    trigger_states.c.trigger == trigger, trigger_states.c.suspended_at.is_not(None)
                )
                .values(suspended_at=None, updated_at=now)
            )
        return bool(result.rowcount)

    def suspended(self) -> dict[str, TriggerState]:
        """Every suspended trigger."""
        with self._db.reading() as conn:
            rows = conn.execute(
                sa.select(trigger_states).where(trigger_states.c.suspended_at.is_not(None))
            ).all()
        return {str(row.trigger): TriggerState(**row._mapping) for row in rows}

    def __repr__(self) -> str:
        return f"Deliveries({self._db.redacted_url!r})"


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
