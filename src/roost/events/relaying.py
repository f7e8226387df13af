"""The outbox relay: moves what the state store's outbox holds onto an external bus
(JetStream), in order, at least once.

The relay is one more outbox consumer (``relay:<bus kind>``). It publishes a batch, then stores
its position; a crash in between publishes the batch again on restart, which the bus drops as
duplicates by event id (JetStream's ``Nats-Msg-Id`` window). Only the leading control plane
relays, so two relays never interleave.
"""

from __future__ import annotations

from roost.events.bus import Bus
from roost.store import Store

BATCH = 500


class Relay:
    """Copies outbox entries to ``bus``."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.bus = bus
        self.consumer = f"relay:{bus.kind}"
        if store.outbox.position(self.consumer) is None:
            store.outbox.advance(self.consumer, store.outbox.last_seq())

    def relay_once(self, *, limit: int = BATCH) -> int:
        """Publish the next entries (up to ``limit``); how many."""
        position = self.store.outbox.position(self.consumer) or 0
        entries = self.store.outbox.read(position, limit=limit)
        if not entries:
            return 0
        self.bus.publish([e.envelope for e in entries])
        self.store.outbox.advance(self.consumer, entries[-1].seq)
        return len(entries)

    def lag(self) -> int:
        """Entries in the outbox not yet relayed."""
        return self.store.outbox.count_after(self.store.outbox.position(self.consumer) or 0)

    def __repr__(self) -> str:
        return f"Relay({self.consumer!r})"
