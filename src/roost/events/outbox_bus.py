"""The embedded bus: the state store's transactional outbox (:mod:`roost.store.outbox`).

The outbox is the stream; a consumer is a position in ``bus_cursors``. It reads ahead of its
position in memory, and :meth:`OutboxConsumer.ack` moves the stored position up to the highest
envelope below which everything is acknowledged, so a restart re-reads exactly what was not.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from roost.events.bus import Message
from roost.store import Store

POLL_SECONDS = 0.05
"""How often a waiting consumer looks at the outbox for events another process wrote (this
process's own appends wake it at once)."""


class OutboxBus:
    """:class:`~roost.events.bus.Bus` over the state store."""

    kind = "outbox"

    def __init__(self, store: Store) -> None:
        self.store = store

    def publish(self, envelopes: Sequence[dict[str, Any]]) -> None:
        self.store.outbox.publish(envelopes)

    def consumer(self, name: str) -> OutboxConsumer:
        return OutboxConsumer(self.store, name)

    def close(self) -> None:
        """Nothing to close: the store belongs to the caller."""

    def __repr__(self) -> str:
        return f"OutboxBus({self.store.url!r})"


class OutboxConsumer:
    """A consumer reading the outbox after its stored position."""

    def __init__(self, store: Store, name: str) -> None:
        self.name = name
        self._store = store
        self._lock = threading.Lock()
        start = store.outbox.position(name)
        if start is None:
            # A new consumer starts at the end: it sees what is published from now on.
            start = store.outbox.last_seq()
            store.outbox.advance(name, start)
        self._acked = start  # the stored position
        self._read = start  # how far fetch has handed out
        self._outstanding: set[int] = set()  # handed out, not yet acknowledged
        self._closed = threading.Event()

    def fetch(self, max_messages: int, *, timeout: float) -> list[Message]:
        doorbell = self._store.outbox.doorbell
        deadline = self._store.clock.monotonic() + timeout
        while not self._closed.is_set():
            seen = doorbell.rung
            with self._lock:
                after = self._read
            entries = self._store.outbox.read(after, limit=max_messages)
            with self._lock:
                # Another fetch on this consumer may have raced: hand out each once.
                entries = [e for e in entries if e.seq > self._read]
                if entries:
                    self._read = entries[-1].seq
                    self._outstanding.update(e.seq for e in entries)
                    return [Message(e.envelope, e.seq) for e in entries]
            left = deadline - self._store.clock.monotonic()
            if left <= 0:
                return []
            doorbell.wait(seen, min(left, POLL_SECONDS))
        return []

    def ack(self, messages: Sequence[Message]) -> None:
        with self._lock:
            self._outstanding.difference_update(m.position for m in messages)
            # Everything handed out below the lowest unacknowledged envelope is done (seq
            # numbers need not be contiguous, so the position is "read up to", not a count).
            position = min(self._outstanding) - 1 if self._outstanding else self._read
            position = max(position, self._acked)
            self._acked = position
        self._store.outbox.advance(self.name, position)

    def release(self, messages: Sequence[Message]) -> None:
        with self._lock:
            lowest = min((m.position for m in messages), default=None)
            if lowest is None:
                return
            # Hand out again from the lowest released one; what was handed out above it
            # comes again too (at-least-once allows a repeat, never a gap).
            self._read = max(self._acked, lowest - 1)
            self._outstanding = {p for p in self._outstanding if p <= self._read}

    def lag(self) -> int:
        with self._lock:
            position = self._acked
        return self._store.outbox.count_after(position)

    def close(self) -> None:
        self._closed.set()

    def __repr__(self) -> str:
        return f"OutboxConsumer({self.name!r}, acked={self._acked}, read={self._read})"
