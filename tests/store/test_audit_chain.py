"""The event log as a tamper-evident hash chain, on SQLite and PostgreSQL (issue 13, item 7):
an untouched log verifies; a row edited, deleted or moved directly in the database is named."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from tests.store._db import raw_connection

from roost.clock import VirtualClock
from roost.store import GENESIS, Store, open_store
from roost.store.chaining import canonical, seal
from roost.store.checkpoints import CHECKPOINT_TYPE, sign
from roost.store.connecting import Database
from roost.store.migrating import MIGRATIONS_DIR
from roost.store.tables import events
from roost.store.urls import parse_url


def _fill(store: Store, clock: VirtualClock, n: int = 5) -> list[str]:
    ids = []
    for i in range(n):
        clock.advance(1.000125)
        event = store.events.append(
            "dev.roost.test",
            source="/test",
            subject=f"web/{i}",
            data={"n": i, "ratio": i / 3, "text": "héllo ☃", "nested": {"b": [1, None]}},
            actor="alice" if i % 2 else None,
        )
        ids.append(event.id)
    return ids


def test_an_untouched_log_verifies_and_exposes_its_head(store: Store, clock: VirtualClock) -> None:
    assert store.events.head() == (GENESIS, 0)
    assert store.events.verify().intact
    ids = _fill(store, clock)
    report = store.events.verify()
    assert report.intact, report.problem
    assert report.events == 5
    last = store.events.get(ids[-1])
    assert store.events.head() == (last.hash, 5)
    assert report.head == last.hash
    first = store.events.get(ids[0])
    assert first.prev_hash == GENESIS
    second = store.events.get(ids[1])
    assert second.prev_hash == first.hash
    assert store.events.verify(expect=first.hash).anchored is True


def test_an_edited_event_is_named(store: Store, store_url: str, clock: VirtualClock) -> None:
    ids = _fill(store, clock)
    with raw_connection(store_url) as conn:
        conn.execute(
            sa.text("UPDATE events SET data = :data WHERE id = :id"),
            {"data": '{"n": 99}', "id": ids[2]},
        )
    report = store.events.verify()
    assert not report.intact
    assert report.event_id == ids[2]
    assert f"event {ids[2]}" in str(report.problem)
    assert "was edited" in str(report.problem)


def test_an_edited_actor_is_named(store: Store, store_url: str, clock: VirtualClock) -> None:
    ids = _fill(store, clock)
    with raw_connection(store_url) as conn:
        conn.execute(sa.text("UPDATE events SET actor = 'mallory' WHERE id = :id"), {"id": ids[1]})
    report = store.events.verify()
    assert report.event_id == ids[1]
    assert "was edited" in str(report.problem)


def test_a_deleted_event_is_named(store: Store, store_url: str, clock: VirtualClock) -> None:
    ids = _fill(store, clock)
    deleted = store.events.get(ids[2])
    with raw_connection(store_url) as conn:
        conn.execute(sa.text("DELETE FROM events WHERE id = :id"), {"id": ids[2]})
    report = store.events.verify()
    assert report.event_id == ids[3]
    assert "was deleted" in str(report.problem)
    assert f"event {ids[1]}" in str(report.problem)  # the gap is between these two
    assert report.seq == deleted.seq + 1


def test_deleting_the_first_event_is_named(
    store: Store, store_url: str, clock: VirtualClock
) -> None:
    ids = _fill(store, clock)
    with raw_connection(store_url) as conn:
        conn.execute(sa.text("DELETE FROM events WHERE id = :id"), {"id": ids[0]})
    report = store.events.verify()
    assert report.event_id == ids[1]
    assert "were deleted" in str(report.problem)


def test_reordered_events_are_named(store: Store, store_url: str, clock: VirtualClock) -> None:
    ids = _fill(store, clock)
    a, b = store.events.get(ids[1]), store.events.get(ids[2])
    with raw_connection(store_url) as conn:
        swap = "UPDATE events SET seq = :to WHERE seq = :from"
        conn.execute(sa.text(swap), {"from": a.seq, "to": -1})
        conn.execute(sa.text(swap), {"from": b.seq, "to": a.seq})
        conn.execute(sa.text(swap), {"from": -1, "to": b.seq})
    report = store.events.verify()
    assert report.event_id == ids[2]
    assert report.seq == a.seq
    assert "reordered" in str(report.problem)
    assert ids[1] in str(report.problem)


def test_a_truncated_tail_is_caught_against_a_recorded_head(
    store: Store, store_url: str, clock: VirtualClock
) -> None:
    ids = _fill(store, clock)
    recorded, _ = store.events.head()
    with raw_connection(store_url) as conn:
        conn.execute(sa.text("DELETE FROM events WHERE id = :id"), {"id": ids[-1]})
    assert store.events.verify().intact  # the chain alone cannot see a cut-off end …
    report = store.events.verify(expect=recorded)  # … the head recorded elsewhere can
    assert not report.intact
    assert report.anchored is False
    assert recorded in str(report.problem)


def test_a_row_inserted_around_roost_is_named(
    store: Store, store_url: str, clock: VirtualClock
) -> None:
    _fill(store, clock, 2)
    with raw_connection(store_url) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO events (id, source, type, time) "
                "VALUES ('forged', '/x', 'dev.roost.forged', :time)"
            ),
            {"time": clock.now()},
        )
    report = store.events.verify()
    assert report.event_id == "forged"
    assert "has no hash" in str(report.problem)


def test_concurrent_appends_never_fork_the_chain(store_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            with open_store(store_url) as store:
                barrier.wait()
                for i in range(15):
                    store.events.append("dev.roost.test", source=f"/writer/{n}", data=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_store(store_url) as store:
        report = store.events.verify()
        assert report.intact, report.problem
        assert report.events == 60


def test_the_migration_chains_existing_events(empty_store_url: str) -> None:
    """A database at 0004 with events in it: opening it with this roost chains them in order,
    and the result verifies with the store's own code."""
    db = Database(parse_url(empty_store_url))
    try:
        with db.writing() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
    finally:
        db.close()
    clock = VirtualClock()
    with raw_connection(empty_store_url) as conn:
        for i in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO events (id, source, type, subject, time, datacontenttype, "
                    "data, actor) VALUES (:id, '/old', 'dev.roost.old', NULL, :time, "
                    "'application/json', :data, :actor)"
                ),
                {
                    "id": f"old-{i}",
                    "time": clock.now() + timedelta(seconds=i, microseconds=250),
                    "data": f'{{"i": {i}, "s": "ü"}}',
                    "actor": None if i else "bob",
                },
            )
    with open_store(empty_store_url, clock=clock) as store:
        old = [store.events.get(f"old-{i}") for i in range(3)]
        assert old[0].prev_hash == GENESIS
        assert [e.prev_hash for e in old[1:]] == [e.hash for e in old[:2]]
        first = old[0]
        assert first.hash == seal(
            GENESIS,
            canonical(
                id=first.id,
                source=first.source,
                type=first.type,
                subject=first.subject,
                time=first.time,
                datacontenttype=first.datacontenttype,
                data=first.data,
                actor=first.actor,
            ),
        )
        new = store.events.append("dev.roost.new", source="/new")
        assert new.prev_hash == old[-1].hash
        report = store.events.verify()
        assert report.intact, report.problem
        assert report.events == 4


# --- Signed checkpoints: a rewrite of every later hash needs the key too. ---

KEY = bytes(range(32))


def _rewrite_chain(url: str) -> None:
    """What someone with write access to the database but not the key can do: recompute every
    hash (and every checkpoint's head) after an edit, so the chain itself looks intact."""
    with open_store(url) as store:
        rows = sorted(
            (store.events.get(e.id) for e in store.events.list(limit=1000)), key=lambda e: e.seq
        )
    prev = GENESIS
    with raw_connection(url) as conn:
        for count, event in enumerate(rows):
            data = event.data
            if event.type == CHECKPOINT_TYPE:
                data = {**data, "head": prev, "events": count}
            sealed = seal(
                prev,
                canonical(
                    id=event.id,
                    source=event.source,
                    type=event.type,
                    subject=event.subject,
                    time=event.time,
                    datacontenttype=event.datacontenttype,
                    data=data,
                    actor=event.actor,
                ),
            )
            conn.execute(
                sa.update(events)
                .where(events.c.seq == event.seq)
                .values(data=data, prev_hash=prev, hash=sealed)
            )
            prev = sealed


def test_checkpoints_sign_the_chain_and_catch_a_rewrite(
    store: Store, store_url: str, clock: VirtualClock
) -> None:
    ids = _fill(store, clock, 3)
    mark = store.events.append_checkpoint(
        lambda head, count: sign(KEY, head, count), source="/test", actor="ops"
    )
    assert mark.data["head"] == mark.prev_hash
    assert mark.data["events"] == 3
    _fill(store, clock, 2)
    report = store.events.verify(key=KEY)
    assert report.intact, report.problem
    assert report.checkpoints == 1

    with raw_connection(store_url) as conn:
        conn.execute(sa.update(events).where(events.c.id == ids[1]).values(actor="mallory"))
    assert "was edited" in str(store.events.verify().problem)
    _rewrite_chain(store_url)
    assert store.events.get(ids[1]).actor == "mallory"
    assert store.events.verify().intact  # the chain alone is fooled by a full rewrite …
    caught = store.events.verify(key=KEY)  # … the signed checkpoint is not
    assert caught.event_id == mark.id
    assert "signature is wrong" in str(caught.problem)


def test_a_checkpoint_signed_with_another_key_is_named(store: Store, clock: VirtualClock) -> None:
    _fill(store, clock, 2)
    forged = store.events.append_checkpoint(
        lambda head, count: sign(b"k" * 32, head, count), source="/test", actor="x"
    )
    report = store.events.verify(key=KEY)
    assert report.event_id == forged.id
    assert "another key" in str(report.problem)
