"""``roost events trace ID``: the tree of everything that followed from one event.

event → the triggers it was delivered to (state, every attempt with its status and timing)
→ the events each delivery's action recorded (or the dead-letter / suspension events it
caused) → their deliveries, and so on. The chain is found by its correlation id (the id of
the event that started it, carried by every event and delivery after it), so the whole tree
is two indexed queries and the attempts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from roost.store import EventRecord, Store
from roost.store.causation import CAUSATION, CAUSED_BY
from roost.store.deliveries import DeliveryRecord

MAX_NODES = 2000


def trace(store: Store, text: str) -> dict[str, Any]:
    """The tree of the chain the event (or delivery) ``text`` names, from the event that
    started the chain; ``NotFound``/``Ambiguous`` as the store says."""
    asked = store.events.find(text)
    correlation = asked.correlation_id or asked.id
    root = asked if correlation == asked.id else store.events.get(correlation)
    chain = [root, *(e for e in store.events.chain(correlation) if e.id != root.id)]
    deliveries = store.deliveries.list(correlation_id=correlation, limit=MAX_NODES)
    by_event: dict[str, list[DeliveryRecord]] = defaultdict(list)
    for delivery in deliveries:
        by_event[delivery.event_id].append(delivery)
    # An event an action recorded names its delivery (causedby = trigger/delivery id); one a
    # guard recorded names its trigger and the event it stopped (causationid).
    under_delivery: dict[str, list[EventRecord]] = defaultdict(list)
    under_event: dict[str, list[EventRecord]] = defaultdict(list)
    for event in chain[1:]:
        ext = event.extensions or {}
        by = str(ext.get(CAUSED_BY) or "")
        if "/" in by:
            under_delivery[by.split("/", 1)[1]].append(event)
        else:
            under_event[str(ext.get(CAUSATION) or root.id)].append(event)
    seen: set[str] = set()

    def event_node(event: EventRecord) -> dict[str, Any]:
        seen.add(event.id)
        return {
            "event": _event(event),
            "asked": event.id == asked.id,
            "deliveries": [delivery_node(d) for d in by_event.get(event.id, [])],
            "caused": [event_node(e) for e in under_event.get(event.id, []) if e.id not in seen],
        }

    def delivery_node(delivery: DeliveryRecord) -> dict[str, Any]:
        return {
            "id": delivery.id,
            "trigger": delivery.trigger,
            "state": delivery.state,
            "depth": delivery.depth,
            "error": delivery.last_error,
            "attempts": [
                {
                    "attempt": a.attempt,
                    "at": a.started_at.isoformat(),
                    "ok": a.ok,
                    "status": a.status,
                    "duration_ms": round(a.duration_ms, 1),
                    "detail": a.detail,
                }
                for a in store.deliveries.attempts(delivery.id)
            ],
            "caused": [
                event_node(e) for e in under_delivery.get(delivery.id, []) if e.id not in seen
            ],
        }

    return {"correlation_id": correlation, "root": event_node(root)}


def _event(event: EventRecord) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "subject": event.subject,
        "source": event.source,
        "time": event.time.isoformat(),
        "actor": event.actor,
    }
