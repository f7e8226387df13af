"""The event log as a hash chain: each event is sealed to the one before it.

Every event stores ``prev_hash`` (the ``hash`` of the event appended just before it, or
:data:`GENESIS` for the first) and ``hash = sha256(prev_hash || canonical(event))``, where
``canonical`` is the event's CloudEvents attributes as canonical JSON (sorted keys, no spaces,
UTF-8, every attribute present, times in one fixed format). Editing an event's content breaks its
own hash; deleting or reordering events breaks the next event's link. A rewrite of every later
hash is caught by comparing the head with one recorded elsewhere (``GET /api/v1/audit/head``),
or by a signed checkpoint after the edit (:mod:`roost.store.checkpoints`).

Appends are serialised so the chain never forks: on SQLite every write transaction holds the
database's write lock (``BEGIN IMMEDIATE``); on PostgreSQL the append takes a transaction-scoped
advisory lock before it reads the head. (``SELECT … ORDER BY seq DESC LIMIT 1 FOR UPDATE`` would
not do: a second writer waiting on that row gets the *old* head back once the first commits.)
A unique index on ``prev_hash`` is the backstop: two events can never claim the same parent.

The canonical form is frozen: migration 0005 carries its own copy, and changing either would
make every stored event look edited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.store.checkpoints import CHECKPOINT_TYPE
from roost.store.checkpoints import check as check_checkpoint
from roost.store.connecting import Database
from roost.store.records import CLOUDEVENTS_SPECVERSION
from roost.store.tables import events

GENESIS = "0" * 64
# pg_advisory_xact_lock key for appends: "audit" in ASCII, recognisable in pg_locks.
_PG_APPEND_LOCK = 0x6175646974
_BATCH = 1000


def canonical(
    *,
    id: str,
    source: str,
    type: str,
    subject: str | None,
    time: datetime,
    datacontenttype: str | None,
    data: Any,
    actor: str | None,
    extensions: dict[str, Any] | None = None,
) -> bytes:
    """The bytes an event's hash covers. ``extensions`` (causation/correlation ids, added with
    the event bus) are covered only when an event has them, so every older event's canonical
    form, and so its hash, stays what it was."""
    envelope = {
        "specversion": CLOUDEVENTS_SPECVERSION,
        "id": id,
        "source": source,
        "type": type,
        "subject": subject,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": datacontenttype,
        "data": data,
        "actor": actor,
    }
    if extensions is not None:
        envelope["extensions"] = extensions
    text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def seal(prev_hash: str, content: bytes) -> str:
    """The hash of an event whose canonical form is ``content``, chained after ``prev_hash``."""
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


def lock_and_read_head(conn: Connection) -> str:
    """Inside a write transaction: serialise with every other append, then the current head
    (:data:`GENESIS` for an empty log)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_APPEND_LOCK)))
    head = conn.execute(
        sa.select(events.c.hash).order_by(events.c.seq.desc()).limit(1)
    ).scalar_one_or_none()
    return GENESIS if head is None else str(head)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of :func:`verify`. ``problem`` names the first broken event; ``seq`` and
    ``event_id`` point at it (None when the chain is intact)."""

    events: int
    head: str
    problem: str | None = None
    seq: int | None = None
    event_id: str | None = None
    anchored: bool | None = None
    checkpoints: int = 0

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> dict[str, Any]:
        """The verdict as JSON fields: what ``GET /audit/verify`` answers and what
        ``roost audit verify --json`` prints first, so the two never drift apart."""
        return {
            "intact": self.intact,
            "events": self.events,
            "head": self.head,
            "problem": self.problem,
            "seq": self.seq,
            "event_id": self.event_id,
            "anchored": self.anchored,
        }


def head(db: Database) -> tuple[str, int]:
    """The newest event's hash and how many events there are."""
    with db.reading() as conn:
        latest = conn.execute(
            sa.select(events.c.hash).order_by(events.c.seq.desc()).limit(1)
        ).scalar_one_or_none()
        count = int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())
    return (GENESIS if latest is None else str(latest)), count


def verify(db: Database, *, expect: str | None = None, key: bytes | None = None) -> ChainReport:
    """Walk the log in insertion order and report the first event that was edited, deleted
    around or moved. ``expect``: a head recorded earlier, which must still be in the chain
    (catches a truncated tail or a rewrite of every later hash). ``key``: the checkpoint key, to
    check each signed checkpoint (see :mod:`roost.store.checkpoints`)."""
    expected_prev = GENESIS
    previous: tuple[int, str] | None = None
    count = 0
    checkpoints = 0
    seen_expect = expect is None or expect == GENESIS
    for row in _rows(db):
        count += 1
        where = f"event {row.id} (seq {row.seq}, {row.type})"
        if row.hash is None or row.prev_hash is None:
            return _broken(count, expected_prev, f"{where} has no hash: added around roost", row)
        content = canonical(
            id=row.id,
            source=row.source,
            type=row.type,
            subject=row.subject,
            time=row.time,
            datacontenttype=row.datacontenttype,
            data=row.data,
            actor=row.actor,
            extensions=row.extensions,
        )
        if seal(row.prev_hash, content) != row.hash:
            return _broken(
                count,
                expected_prev,
                f"{where} was edited: its content no longer matches its hash",
                row,
            )
        if row.prev_hash != expected_prev:
            return _broken(count, expected_prev, _link_problem(db, where, row, previous), row)
        if row.type == CHECKPOINT_TYPE:
            wrong = check_checkpoint(key, row.data, prev_hash=row.prev_hash, position=count)
            if wrong is not None:
                return _broken(count, expected_prev, f"checkpoint {where}: {wrong}", row)
            checkpoints += 1
        expected_prev = row.hash
        previous = (row.seq, row.id)
        if not seen_expect and row.hash == expect:
            seen_expect = True
    if not seen_expect:
        return ChainReport(
            count,
            expected_prev,
            problem=f"the recorded head {expect} is not in the chain: events were deleted from "
            "the end, or the chain was rewritten after it",
            anchored=False,
            checkpoints=checkpoints,
        )
    anchored = None if expect is None else True
    return ChainReport(count, expected_prev, anchored=anchored, checkpoints=checkpoints)


def _rows(db: Database) -> Iterator[Any]:
    """Every event in ``seq`` order, a batch per read transaction (keyset pagination)."""
    after: int | None = None
    while True:
        query = sa.select(events).order_by(events.c.seq).limit(_BATCH)
        if after is not None:
            query = query.where(events.c.seq > after)
        with db.reading() as conn:
            rows = conn.execute(query).all()
        yield from rows
        if len(rows) < _BATCH:
            return
        after = rows[-1].seq


def _link_problem(db: Database, where: str, row: Any, previous: tuple[int, str] | None) -> str:
    with db.reading() as conn:
        parent = conn.execute(
            sa.select(events.c.seq, events.c.id).where(events.c.hash == row.prev_hash).limit(1)
        ).first()
    if parent is not None and parent.seq > row.seq:
        return (
            f"{where} was reordered: it was appended after event {parent.id}, "
            f"which now comes later (seq {parent.seq})"
        )
    if previous is None:
        return f"the event(s) before {where}, the first in the log, were deleted"
    return (
        f"an event between seq {previous[0]} (event {previous[1]}) and {where} was deleted: "
        f"{row.id} was appended after an event no longer in the log"
    )


def _broken(count: int, head_hash: str, problem: str, row: Any) -> ChainReport:
    return ChainReport(count, head_hash, problem=problem, seq=row.seq, event_id=row.id)
