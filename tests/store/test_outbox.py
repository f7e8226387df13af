"""The transactional outbox: every appended event is on the bus, in the same transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from roost._util import event_catalog as catalog
from roost.store import Store
from roost.store.causation import Cause, caused_by
from roost.store.tables import event_outbox


def test_every_appended_event_is_in_the_outbox_with_an_absolute_source(store: Store) -> None:
    first = store.events.append(catalog.BUILD_STARTED, source=catalog.SOURCE_BUILDS, data={"a": 1})
    second = store.events.append(catalog.API_STARTED, source=catalog.SOURCE_SERVE)
    entries = store.outbox.read(0)
    assert [e.event_id for e in entries] == [first.id, second.id]
    assert entries[0].envelope["source"] == "roost:/roost/builds"
    assert entries[0].envelope["type"] == catalog.BUILD_STARTED
    assert entries[0].envelope["data"] == {"a": 1}
    assert entries[0].envelope["specversion"] == "1.0"
    assert store.outbox.last_seq() == entries[-1].seq


def test_an_event_refused_by_the_store_is_not_on_the_bus(store: Store) -> None:
    with pytest.raises(ValueError, match="event type"):
        store.events.append("", source=catalog.SOURCE_CLI)
    assert store.outbox.read(0) == []


def test_a_failed_transaction_takes_its_outbox_row_with_it(store: Store) -> None:
    store.events.append(catalog.API_STARTED, source=catalog.SOURCE_SERVE)

    def write_then_fail() -> None:
        with store._db.writing() as conn:
            conn.execute(
                sa.insert(event_outbox).values(
                    event_id="x", type="t", envelope={"id": "x"}, created_at=store.clock.now()
                )
            )
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        write_then_fail()
    assert len(store.outbox.read(0)) == 1


def test_events_an_automation_records_carry_its_cause_and_the_chain_verifies(
    store: Store,
) -> None:
    alert = store.events.append(catalog.SLO_ALERT_FIRING, source=catalog.SOURCE_SLOS)
    cause = Cause(correlation_id=alert.id, causation_id=alert.id, depth=1, caused_by="page")
    with caused_by(cause):
        caused = store.events.append(catalog.ROLLOUT + "paused", source=catalog.SOURCE_ROLLOUTS)
    after = store.events.append(catalog.API_STOPPED, source=catalog.SOURCE_SERVE)
    assert alert.extensions is None
    assert after.extensions is None
    assert caused.extensions == {
        "correlationid": alert.id,
        "causationid": alert.id,
        "chaindepth": 1,
        "causedby": "page",
    }
    envelope = store.outbox.read(0)[1].envelope
    assert envelope["correlationid"] == alert.id
    assert envelope["chaindepth"] == 1
    assert store.events.get(caused.id).to_cloudevent()["causationid"] == alert.id
    assert store.events.verify().intact


def test_append_many_is_one_chain_and_one_outbox_batch(store: Store) -> None:
    records = store.events.append_many(
        [(catalog.BUILD_STARTED, catalog.SOURCE_BUILDS, f"web-b{i}", {"i": i}) for i in range(5)]
    )
    assert [e.event_id for e in store.outbox.read(0)] == [r.id for r in records]
    assert store.events.verify().intact


def test_consumer_positions_only_move_forward(store: Store) -> None:
    assert store.outbox.position("t") is None
    store.outbox.advance("t", 5)
    store.outbox.advance("t", 3)
    assert store.outbox.position("t") == 5
    assert store.outbox.positions() == {"t": 5}


def test_a_delivery_is_enqueued_once_per_trigger_and_event(store: Store) -> None:
    from roost.store.deliveries import DEAD, PENDING, NewDelivery

    envelope = {"id": "evt-1", "type": catalog.BUILD_STARTED}
    item = NewDelivery(
        trigger="t", envelope=envelope, correlation_id="evt-1", causation_id=None, depth=0
    )
    first = store.deliveries.enqueue([item, NewDelivery("u", envelope, "evt-1", None, 0)])
    again = store.deliveries.enqueue([item])
    assert len(first) == 2
    assert again == []
    (delivery,) = store.deliveries.list(trigger="t")
    assert delivery.state == PENDING
    assert store.deliveries.count(PENDING) == 2
    assert store.deliveries.count(DEAD) == 0
