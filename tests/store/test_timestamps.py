from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from roost.clock import VirtualClock
from roost.store import Store, open_store


def test_aware_datetimes_round_trip_exactly(store_url: str) -> None:
    # A non-UTC start with microseconds: stored as UTC, read back equal and in UTC.
    start = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    clock = VirtualClock(start)
    with open_store(store_url, clock=clock) as store:
        event = store.events.append("roost.t", source="/t")
        lease = store.leases.try_acquire("l", "a", duration_seconds=1.5)
    with open_store(store_url, clock=clock) as store:
        stored = store.events.get(event.id)
        stored_lease = store.leases.get("l")
    assert stored.time == start
    assert stored.time.tzinfo == UTC
    assert stored.time.hour == 1
    assert lease is not None
    assert stored_lease == lease
    assert stored_lease.expires_at == start + timedelta(seconds=1.5)


def test_time_filters_compare_instants_not_wall_clocks(store: Store, clock: VirtualClock) -> None:
    store.events.append("roost.a", source="/t")  # 2026-01-01T00:00:00Z
    clock.advance(3600)
    store.events.append("roost.b", source="/t")  # 01:00Z
    # 01:30 in UTC+02:00 is 23:30Z the day before: both events are after it.
    plus_two = timezone(timedelta(hours=2))
    since = datetime(2026, 1, 1, 1, 30, tzinfo=plus_two)
    assert [e.type for e in store.events.list(since=since)] == ["roost.b", "roost.a"]
    # 02:30+02:00 is 00:30Z: only the second one.
    since = datetime(2026, 1, 1, 2, 30, tzinfo=plus_two)
    assert [e.type for e in store.events.list(since=since)] == ["roost.b"]
