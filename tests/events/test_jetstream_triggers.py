"""roost.yaml's ``event_bus: {backend: jetstream}``: roost's events go from the outbox through
a real JetStream to a trigger, with the per-trigger lag visible as a metric."""

from __future__ import annotations

import random
import time
import uuid

import httpx
from tests._nats import NatsServer

from roost._util import event_catalog as catalog
from roost.events import metrics
from roost.events.dispatching import Dispatcher
from roost.events.opening import lags, open_bus
from roost.events.relaying import Relay
from roost.spec.triggers import EventBus, Trigger
from roost.store import Store


def test_events_reach_a_trigger_through_jetstream(
    sqlite_store: Store, nats_server: NatsServer
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    spec = EventBus.model_validate(
        {"backend": "jetstream", "url": nats_server.url, "stream": f"S{uuid.uuid4().hex[:10]}"}
    )
    bus = open_bus(spec, sqlite_store)
    trigger = Trigger.model_validate(
        {
            "name": "builds",
            "filters": [{"prefix": {"type": "dev.roost.build."}}],
            "webhook": {"url": "http://r.test/"},
        }
    )
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        d = Dispatcher(
            sqlite_store,
            bus,
            [trigger],
            client=client,
            rng=random.Random(0),
            workers=0,
            relay=Relay(sqlite_store, bus),
        )
        event = sqlite_store.events.append(catalog.BUILD_STARTED, source=catalog.SOURCE_BUILDS)
        sqlite_store.events.append(catalog.API_STARTED, source=catalog.SOURCE_SERVE)
        found, relay_lag = lags(spec, sqlite_store, ["builds"])
        assert relay_lag == 2  # in the outbox, not on JetStream yet
        assert found == {"builds": 0}
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            d.relay.relay_once() if d.relay else None
            d.intake(timeout=0.5)
            d.deliver_due()
        assert [r.headers["ce-id"] for r in seen] == [event.id]
        assert seen[0].headers["ce-source"] == "roost:/roost/builds"
        found, relay_lag = lags(spec, sqlite_store, ["builds"])
        assert (found, relay_lag) == ({"builds": 0}, 0)
        text = metrics.render(sqlite_store, ["builds"], bus="jetstream", lags=found).decode()
        assert 'roost_events_consumer_lag{bus="jetstream",trigger="builds"} 0.0' in text
        assert 'roost_events_deliveries{state="delivered",trigger="builds"} 1.0' in text
        d.stop()
        bus.close()
