"""One contract for every event bus backend: the state store's outbox (SQLite, PostgreSQL)
and a real NATS JetStream server."""

from __future__ import annotations

from typing import Any

from roost.events.bus import Bus, Consumer, Message


def _envelopes(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": f"evt-{i:04d}",
            "source": "roost:/roost/tests",
            "type": "dev.roost.test.happened",
            "data": {"n": i},
        }
        for i in range(start, start + n)
    ]


def _drain(consumer: Consumer, want: int, *, ack: bool = True) -> list[Message]:
    got: list[Message] = []
    for _ in range(50):
        batch = consumer.fetch(want - len(got), timeout=2.0)
        if ack and batch:
            consumer.ack(batch)
        got += batch
        if len(got) >= want:
            break
    return got


def test_a_consumer_sees_everything_published_after_it_opened_in_order(bus: Bus) -> None:
    bus.publish(_envelopes(3))  # before the consumer exists: not its business
    consumer = bus.consumer("orders")
    bus.publish(_envelopes(25, start=100))
    got = _drain(consumer, 25)
    assert [m.envelope["data"]["n"] for m in got] == list(range(100, 125))
    assert [m.position for m in got] == sorted(m.position for m in got)
    assert consumer.fetch(10, timeout=0.2) == []
    consumer.close()


def test_acknowledged_envelopes_are_not_handed_out_again_after_a_restart(bus: Bus) -> None:
    consumer = bus.consumer("restart")
    bus.publish(_envelopes(10))
    first = _drain(consumer, 4, ack=False)
    assert len(first) >= 4
    consumer.ack(first[:4])
    consumer.release(first[4:])
    consumer.close()
    again = bus.consumer("restart")
    rest = _drain(again, 6)
    assert [m.envelope["id"] for m in rest] == [f"evt-{i:04d}" for i in range(4, 10)]
    again.close()


def test_an_unacknowledged_envelope_comes_back_when_the_consumer_is_reopened(bus: Bus) -> None:
    consumer = bus.consumer("crashy")
    bus.publish(_envelopes(2))
    got = _drain(consumer, 2, ack=False)
    assert len(got) == 2
    consumer.ack(got[1:])
    consumer.close()
    again = bus.consumer("crashy")
    redelivered = _drain(again, 1)
    assert [m.envelope["id"] for m in redelivered] == ["evt-0000"]
    again.close()


def test_released_envelopes_are_fetched_again(bus: Bus) -> None:
    consumer = bus.consumer("nak")
    bus.publish(_envelopes(3))
    got = _drain(consumer, 3, ack=False)
    consumer.ack(got[:1])
    consumer.release(got[1:])
    again = _drain(consumer, 2)
    assert sorted(m.envelope["id"] for m in again) == ["evt-0001", "evt-0002"]
    consumer.close()


def test_lag_counts_what_the_consumer_has_not_acknowledged(bus: Bus) -> None:
    consumer = bus.consumer("lagging")
    assert consumer.lag() == 0
    bus.publish(_envelopes(7))
    assert _wait_for(lambda: consumer.lag() == 7)
    got = _drain(consumer, 3, ack=False)
    consumer.ack(got[:3])
    assert _wait_for(lambda: consumer.lag() == 7 - 3), consumer.lag()
    consumer.close()


def test_consumers_are_independent(bus: Bus) -> None:
    slack, ticket = bus.consumer("slack"), bus.consumer("ticket")
    bus.publish(_envelopes(5))
    assert len(_drain(slack, 5)) == 5
    assert _wait_for(lambda: slack.lag() == 0)
    assert ticket.lag() == 5
    assert [m.envelope["id"] for m in _drain(ticket, 5)][-1] == "evt-0004"
    slack.close()
    ticket.close()


def _wait_for(condition: Any, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
