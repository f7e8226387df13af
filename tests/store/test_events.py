from __future__ import annotations

from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.store import NotFound, Store


def test_append_builds_a_cloudevent(store: Store, clock: VirtualClock) -> None:
    event = store.events.append(
        "roost.rollout.aborted",
        source="/roost/control",
        subject="web/production",
        data={"reason": "error rate", "p": 0.031},
        actor="alice",
    )
    assert event.time == clock.now()
    assert event.datacontenttype == "application/json"
    assert store.events.get(event.id) == event
    assert event.to_cloudevent() == {
        "specversion": "1.0",
        "id": event.id,
        "source": "/roost/control",
        "type": "roost.rollout.aborted",
        "subject": "web/production",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {"reason": "error rate", "p": 0.031},
        "actor": "alice",
    }
    bare = store.events.append("roost.ping", source="/roost")
    assert bare.data is None
    assert bare.datacontenttype is None
    assert set(bare.to_cloudevent()) == {"specversion", "id", "source", "type", "time"}


def test_ids_are_unique_and_list_is_newest_first(store: Store, clock: VirtualClock) -> None:
    ids = [store.events.append("roost.tick", source="/t", data=n).id for n in range(5)]
    assert len(set(ids)) == 5
    assert [e.id for e in store.events.list()] == ids[::-1]  # same time: insertion order
    clock.advance(1)
    later = store.events.append("roost.tick", source="/t")
    assert store.events.list(limit=2)[0] == later
    assert len(store.events.list(limit=2)) == 2


def test_filters_by_type_prefix_subject_and_time(store: Store, clock: VirtualClock) -> None:
    start = clock.now()
    store.events.append("roost.release.created", source="/t", subject="web-r1")
    clock.advance(60)
    store.events.append("roost.rollout.started", source="/t", subject="web/prod")
    clock.advance(60)
    store.events.append("roost.rollout.aborted", source="/t", subject="web/prod")
    store.events.append("Roost.Rollout.odd_case", source="/t")
    store.events.append("roost_rollout", source="/t")

    def types(**query: object) -> list[str]:
        return [e.type for e in store.events.list(**query)]  # type: ignore[arg-type]

    assert types(type_prefix="roost.rollout.") == ["roost.rollout.aborted", "roost.rollout.started"]
    # exact, case-sensitive prefix: no LIKE wildcards, no case folding
    assert types(type_prefix="roost_") == ["roost_rollout"]
    assert types(type_prefix="roost.") == [
        "roost.rollout.aborted",
        "roost.rollout.started",
        "roost.release.created",
    ]
    assert types(subject="web/prod") == ["roost.rollout.aborted", "roost.rollout.started"]
    assert types(since=start + timedelta(seconds=60), until=start + timedelta(seconds=120)) == [
        "roost.rollout.started"
    ]
    assert types(type_prefix="roost.r", subject="web-r1", until=start + timedelta(seconds=1)) == [
        "roost.release.created"
    ]


def test_naive_datetimes_are_refused(store: Store, clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.events.list(since=clock.now().replace(tzinfo=None))


def test_events_are_append_only(store: Store) -> None:
    public = {name for name in dir(store.events) if not name.startswith("_")}
    assert public == {
        "append",
        "append_many",
        "chain",
        "append_checkpoint",
        "count",
        "find",
        "get",
        "head",
        "list",
        "verify",
    }
    with pytest.raises(NotFound):
        store.events.get("01NOPE")


def test_data_must_be_json(store: Store) -> None:
    with pytest.raises(TypeError, match="JSON"):
        store.events.append("roost.bad", source="/t", data={1, 2})
    assert store.events.list() == []


def test_count_follows_appends(store: Store) -> None:
    assert store.events.count() == 0
    for n in range(3):
        store.events.append("dev.roost.test", source="tests", data={"n": n})
    assert store.events.count() == 3


def test_ping_answers_on_an_open_store(store: Store) -> None:
    store.ping()
