"""The outbox relay puts roost's own events on a real JetStream, in order, once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from tests._nats import NatsServer

from roost._util import event_catalog as catalog
from roost.events.jetstream import JetStreamBus
from roost.events.relaying import Relay
from roost.store import Store


@pytest.fixture
def jetstream(nats_server: NatsServer) -> Iterator[JetStreamBus]:
    unique = uuid.uuid4().hex[:12]
    bus = JetStreamBus(nats_server.url, stream=f"R{unique}", subject_prefix=f"r{unique}.")
    try:
        yield bus
    finally:
        bus.close()


def test_appended_events_reach_jetstream_once_even_if_relayed_twice(
    sqlite_store: Store, jetstream: JetStreamBus
) -> None:
    relay = Relay(sqlite_store, jetstream)
    consumer = jetstream.consumer("audit")
    appended = [
        sqlite_store.events.append(
            catalog.BUILD_STARTED, source=catalog.SOURCE_BUILDS, data={"n": n}
        )
        for n in range(3)
    ]
    assert relay.lag() == 3
    assert relay.relay_once() == 3
    assert relay.lag() == 0
    # A relay that crashed after publishing and before storing its position publishes again:
    # JetStream drops the copies by event id.
    jetstream.publish([e.envelope for e in sqlite_store.outbox.read(0)])
    got = []
    for _ in range(20):
        batch = consumer.fetch(10, timeout=0.5)
        consumer.ack(batch)
        got += batch
        if not batch and len(got) >= 3:
            break
    assert [m.event_id for m in got] == [e.id for e in appended]
    assert got[0].envelope["source"] == "roost:/roost/builds"
    assert jetstream.stream_info().state.messages == 3
    consumer.close()
