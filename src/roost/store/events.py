"""The event log: CloudEvents 1.0 envelopes, append-only (it is also the audit log), each
sealed to the one before it in a hash chain (see :mod:`roost.store.chaining`).

Queries return newest first. ``type_prefix`` matches by exact prefix on both backends (no LIKE:
SQLite's LIKE ignores case and treats ``_`` and ``%`` as wildcards).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.clock import Clock
from roost.store._checks import json_value, require_aware, require_text
from roost.store.causation import current as current_cause
from roost.store.chaining import (
    ChainReport,
    canonical,
    head,
    lock_and_read_head,
    seal,
    verify,
)
from roost.store.checkpoints import CHECKPOINT_TYPE
from roost.store.connecting import Database
from roost.store.errors import NotFound
from roost.store.fencing import check_fence
from roost.store.ids import new_id
from roost.store.outbox import Doorbell, envelope_of, insert_outbox
from roost.store.records import EventRecord, Fence
from roost.store.resolving import resolve_id
from roost.store.tables import events

JSON_CONTENT_TYPE = "application/json"


class Events:
    """The ``events`` table."""

    def __init__(self, db: Database, clock: Clock, doorbell: Doorbell | None = None) -> None:
        self._db = db
        self._clock = clock
        self._doorbell = doorbell

    def append(
        self,
        type: str,  # the CloudEvents attribute is called "type"
        *,
        source: str,
        subject: str | None = None,
        data: Any = None,
        actor: str | None = None,
        fence: Fence | None = None,
    ) -> EventRecord:
        """Record an event (id generated, time from the store's clock). ``data`` must be
        JSON-serialisable; it is stored with datacontenttype ``application/json``.

        The event is put on the bus (the outbox) in the same transaction, carrying the
        causation/correlation attributes of the automation recording it, if one is
        (:mod:`roost.store.causation`)."""
        require_text(type, "event type", max_length=200)
        require_text(source, "event source", max_length=500)
        if subject is not None:
            require_text(subject, "event subject", max_length=500)
        if actor is not None:
            require_text(actor, "event actor", max_length=200)
        payload = None if data is None else json_value(data, "event data")
        with self._db.writing() as conn:
            check_fence(conn, fence)
            prev_hash = lock_and_read_head(conn)
            record = self._insert(conn, prev_hash, type, source, subject, payload, actor)
        self._ring()
        return record

    def append_many(
        self, items: Sequence[tuple[str, str, str | None, Any]], *, actor: str | None = None
    ) -> builtins.list[EventRecord]:
        """Record several events ``(type, source, subject, data)`` in one transaction (one
        chain lock, one commit): what a burst of events costs instead of one commit each."""
        payloads = []
        for type_, source, subject, data in items:
            require_text(type_, "event type", max_length=200)
            require_text(source, "event source", max_length=500)
            if subject is not None:
                require_text(subject, "event subject", max_length=500)
            payloads.append(None if data is None else json_value(data, "event data"))
        records: list[EventRecord] = []
        with self._db.writing() as conn:
            prev_hash = lock_and_read_head(conn)
            for (type_, source, subject, _), payload in zip(items, payloads, strict=True):
                record = self._insert(conn, prev_hash, type_, source, subject, payload, actor)
                prev_hash = str(record.hash)
                records.append(record)
        self._ring()
        return records

    def _ring(self) -> None:
        if self._doorbell is not None:
            self._doorbell.ring()

    def append_checkpoint(
        self, sign: Callable[[str, int], dict[str, Any]], *, source: str, actor: str | None
    ) -> EventRecord:
        """Append a checkpoint whose data ``sign(head, count)`` makes for the chain as it stands
        inside the same transaction: nothing can slip in between what it signs and itself."""
        with self._db.writing() as conn:
            prev_hash = lock_and_read_head(conn)
            count = int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())
            payload = json_value(sign(prev_hash, count), "checkpoint data")
            record = self._insert(conn, prev_hash, CHECKPOINT_TYPE, source, None, payload, actor)
        self._ring()
        return record

    def _insert(
        self,
        conn: Connection,
        prev_hash: str,
        type: str,  # the CloudEvents attribute is called "type"
        source: str,
        subject: str | None,
        payload: Any,
        actor: str | None,
    ) -> EventRecord:
        # The store keeps microseconds on both backends: seal what will read back.
        now = self._clock.now()
        cause = current_cause()
        extensions = None if cause is None else cause.extensions()
        fields: dict[str, Any] = {
            "id": new_id(now),
            "source": source,
            "type": type,
            "subject": subject,
            "time": now,
            "datacontenttype": None if payload is None else JSON_CONTENT_TYPE,
            "data": payload,
            "actor": actor,
        }
        row = conn.execute(
            sa.insert(events)
            .values(
                **fields,
                extensions=extensions,
                correlation_id=None if cause is None else cause.correlation_id,
                prev_hash=prev_hash,
                hash=seal(prev_hash, canonical(**fields, extensions=extensions)),
            )
            .returning(*events.c)
        ).one()
        record = EventRecord(**row._mapping)
        insert_outbox(conn, [envelope_of(record)], now=now)
        return record

    def head(self) -> tuple[str, int]:
        """The newest event's hash (the chain's head, ``GENESIS`` when empty) and the count."""
        return head(self._db)

    def verify(self, *, expect: str | None = None, key: bytes | None = None) -> ChainReport:
        """Check the whole hash chain; see :func:`roost.store.chaining.verify`."""
        return verify(self._db, expect=expect, key=key)

    def get(self, event_id: str) -> EventRecord:
        """The event ``event_id``; :class:`NotFound` if there is none."""
        with self._db.reading() as conn:
            row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
        if row is None:
            raise NotFound(f"no event {event_id!r}")
        return EventRecord(**row._mapping)

    def find(self, text: str) -> EventRecord:
        """The event that ``text`` names: its exact id, else a unique leading part of one
        (:mod:`roost.store.resolving`); :class:`NotFound` or :class:`Ambiguous` otherwise."""
        with self._db.reading() as conn:
            event_id = resolve_id(conn, events.c.id, text, what="event", ulid=True)
        return self.get(event_id)

    def chain(self, correlation_id: str, *, limit: int = 1000) -> builtins.list[EventRecord]:
        """The events an automation chain recorded (``correlationid``), oldest first."""
        query = (
            sa.select(events)
            .where(events.c.correlation_id == correlation_id)
            .order_by(events.c.seq)
            .limit(limit)
        )
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [EventRecord(**row._mapping) for row in rows]

    def list(
        self,
        type_prefix: str | None = None,
        *,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> builtins.list[EventRecord]:
        """Events newest first: ``type`` starting with ``type_prefix``, exactly ``subject``,
        ``since <= time < until``; at most ``limit``."""
        query = sa.select(events).order_by(events.c.time.desc(), events.c.seq.desc())
        if type_prefix:
            query = query.where(sa.func.substr(events.c.type, 1, len(type_prefix)) == type_prefix)
        if subject is not None:
            query = query.where(events.c.subject == subject)
        if since is not None:
            query = query.where(events.c.time >= require_aware(since, "since"))
        if until is not None:
            query = query.where(events.c.time < require_aware(until, "until"))
        with self._db.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [EventRecord(**row._mapping) for row in rows]

    def count(self) -> int:
        """How many events the log holds."""
        with self._db.reading() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())

    def __repr__(self) -> str:
        return f"Events({self._db.redacted_url!r})"
