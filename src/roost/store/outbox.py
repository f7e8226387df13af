"""The transactional outbox: the embedded event bus.

:meth:`roost.store.events.Events.append` writes each event's bus envelope here in the same
transaction as the event itself, so the bus never misses an event the log has and never carries
one the log lost. The outbox is itself the embedded backend's stream: a consumer (a trigger,
the JetStream relay) remembers one position (``bus_cursors``) and reads the rows after it.

A single position is enough because rows are numbered under the event log's append lock
(SQLite's write lock; a PostgreSQL advisory lock held to commit): seq order is commit order,
so no row can ever appear below a position a consumer has read past.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost._util.event_catalog import absolute_source
from roost.clock import Clock
from roost.store.chaining import lock_and_read_head
from roost.store.connecting import Database
from roost.store.records import EventRecord
from roost.store.tables import bus_cursors, event_outbox


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One event on the bus: its position and its CloudEvents JSON envelope."""

    seq: int
    envelope: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.envelope["id"])


def envelope_of(record: EventRecord) -> dict[str, Any]:
    """The envelope the bus carries for ``record``: its CloudEvents JSON form with an
    absolute ``source`` URI."""
    envelope = record.to_cloudevent()
    envelope["source"] = absolute_source(record.source)
    return envelope


def insert_outbox(conn: Connection, envelopes: Sequence[dict[str, Any]], *, now: datetime) -> None:
    """Inside a write transaction that holds the append lock: put ``envelopes`` on the bus."""
    if not envelopes:
        return
    conn.execute(
        sa.insert(event_outbox),
        [
            {
                "event_id": str(env["id"]),
                "type": str(env["type"]),
                "envelope": env,
                "created_at": now,
            }
            for env in envelopes
        ],
    )


class Doorbell:
    """Rung after every commit that put something on the bus in this process, so a consumer
    here wakes at once instead of at its next poll (events written by another process, the
    CLI, are seen at the next poll)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rung = 0

    def ring(self) -> None:
        with self._cond:
            self._rung += 1
            self._cond.notify_all()

    @property
    def rung(self) -> int:
        """How often it rang: pass it to :meth:`wait` to wait for a ring after reading this."""
        return self._rung

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until it rang after ``seen`` (or ``timeout`` seconds); whether it did."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rung != seen, timeout)


class Outbox:
    """The ``event_outbox`` and ``bus_cursors`` tables."""

    def __init__(self, db: Database, clock: Clock, doorbell: Doorbell | None = None) -> None:
        self._db = db
        self._clock = clock
        self.doorbell = doorbell or Doorbell()

    def publish(self, envelopes: Sequence[dict[str, Any]]) -> None:
        """Put envelopes on the bus that are not in the event log (the bus's own tests, a
        bridge); roost's own events get here through ``Events.append``."""
        for env in envelopes:
            if not isinstance(env.get("id"), str) or not isinstance(env.get("type"), str):
                raise ValueError("a CloudEvents envelope needs a string id and type")
        with self._db.writing() as conn:
            lock_and_read_head(conn)  # the same order as the log's appends (see module doc)
            insert_outbox(conn, envelopes, now=self._clock.now())
        self.doorbell.ring()

    def read(self, after: int, *, limit: int = 100) -> builtins.list[OutboxEntry]:
        """Up to ``limit`` entries after position ``after``, oldest first."""
        query = (
            sa.select(event_outbox.c.seq, event_outbox.c.envelope)
            .where(event_outbox.c.seq > after)
            .order_by(event_outbox.c.seq)
            .limit(limit)
        )
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [OutboxEntry(int(row.seq), dict(row.envelope)) for row in rows]

    def last_seq(self) -> int:
        """The newest entry's position (0 when the outbox is empty)."""
        with self._db.reading() as conn:
            value = conn.execute(sa.select(sa.func.max(event_outbox.c.seq))).scalar_one()
        return 0 if value is None else int(value)

    def count_after(self, position: int) -> int:
        """How many entries lie after ``position`` (a consumer's lag)."""
        with self._db.reading() as conn:
            value = conn.execute(
                sa.select(sa.func.count())
                .select_from(event_outbox)
                .where(event_outbox.c.seq > position)
            ).scalar_one()
        return int(value)

    def position(self, consumer: str) -> int | None:
        """Where ``consumer`` stands; None if it never acknowledged anything."""
        with self._db.reading() as conn:
            value = conn.execute(
                sa.select(bus_cursors.c.position).where(bus_cursors.c.consumer == consumer)
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def positions(self) -> dict[str, int]:
        """Every consumer's position."""
        with self._db.reading() as conn:
            rows = conn.execute(sa.select(bus_cursors.c.consumer, bus_cursors.c.position)).all()
        return {str(row.consumer): int(row.position) for row in rows}

    def advance(self, consumer: str, position: int, *, conn: Connection | None = None) -> None:
        """Move ``consumer`` to ``position``; never backwards (a late acknowledgement of an
        older batch must not make the consumer read events again). ``conn``: inside a write
        transaction the caller already holds (commit the work and the position together)."""
        if conn is not None:
            self._advance(conn, consumer, position)
            return
        with self._db.writing() as own:
            self._advance(own, consumer, position)

    def _advance(self, conn: Connection, consumer: str, position: int) -> None:
        now = self._clock.now()
        current = conn.execute(
            sa.select(bus_cursors.c.position).where(bus_cursors.c.consumer == consumer)
        ).scalar_one_or_none()
        if current is None:
            conn.execute(
                sa.insert(bus_cursors).values(consumer=consumer, position=position, updated_at=now)
            )
        elif position > int(current):
            conn.execute(
                sa.update(bus_cursors)
                .where(bus_cursors.c.consumer == consumer)
                .values(position=position, updated_at=now)
            )

    def forget(self, consumer: str) -> None:
        """Drop ``consumer``'s position (a trigger removed from roost.yaml)."""
        with self._db.writing() as conn:
            conn.execute(sa.delete(bus_cursors).where(bus_cursors.c.consumer == consumer))

    def prune(self, upto: int) -> int:
        """Delete entries at or below ``upto`` (every consumer is past them); how many."""
        with self._db.writing() as conn:
            result = conn.execute(sa.delete(event_outbox).where(event_outbox.c.seq <= upto))
        return int(result.rowcount or 0)

    def __repr__(self) -> str:
        return f"Outbox({self._db.redacted_url!r})"
