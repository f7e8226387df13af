"""The bus roost.yaml's ``event_bus:`` asks for."""

from __future__ import annotations

from collections.abc import Sequence

from roost.events.bus import Bus
from roost.events.outbox_bus import OutboxBus
from roost.spec.triggers import EventBus
from roost.store import Store


def open_bus(spec: EventBus, store: Store) -> Bus:
    """The state store's outbox, or a connection to JetStream (:class:`BusError` when the
    server cannot be reached)."""
    if spec.backend == "jetstream":
        from roost.events.jetstream import JetStreamBus

        assert spec.url is not None  # the spec refuses jetstream without a url
        return JetStreamBus(spec.url, stream=spec.stream)
    return OutboxBus(store)


def lags(
    spec: EventBus, store: Store, triggers: Sequence[str]
) -> tuple[dict[str, int | None], int | None]:
    """Each trigger's consumer lag on the configured bus (None: it never consumed), and for
    JetStream the outbox relay's lag. Reads the bus without consuming from it."""
    from roost.events.dispatching import consumer_name

    if spec.backend == "outbox":
        found: dict[str, int | None] = {}
        for name in triggers:
            position = store.outbox.position(consumer_name(name))
            found[name] = None if position is None else store.outbox.count_after(position)
        return found, None
    from roost.events.jetstream import JetStreamBus

    assert spec.url is not None
    relay = store.outbox.position("relay:jetstream")
    relay_lag = None if relay is None else store.outbox.count_after(relay)
    bus = JetStreamBus(spec.url, stream=spec.stream, connect_timeout=2.0)
    try:
        return {name: bus.lag_of(consumer_name(name)) for name in triggers}, relay_lag
    finally:
        bus.close()
