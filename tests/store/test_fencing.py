from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from tests.store._db import count_rows

from roost.clock import VirtualClock
from roost.store import Fence, LeaseRecord, StaleFencingToken, Store
from roost.store.fencing import check_fence


def _release(store: Store, fence: Fence | None) -> object:
    return store.releases.create(
        "web",
        artifact="a",
        config={},
        secrets={},
        schema_requires="",
        created_by="ctl",
        fence=fence,
    )


# Each fenced write, and the table where a stale write must leave no row.
WRITES: dict[str, tuple[str, Callable[[Store, str, Fence | None], object]]] = {
    "release": ("releases", lambda store, _, fence: _release(store, fence)),
    "event": (
        "events",
        lambda store, _, fence: store.events.append("roost.x", source="/t", fence=fence),
    ),
    "schema": (
        "environment_schema",
        lambda store, _, fence: store.environments.set_schema_version("prod", 7, fence=fence),
    ),
    "rollout": (
        "rollouts",
        lambda store, rid, fence: store.rollouts.create(
            "web", "staging", to_release=rid, strategy="canary", fence=fence
        ),
    ),
    "timeline": (
        "rollout_timeline",
        lambda store, rid, fence: store.rollouts.append_timeline(
            store.rollouts.list(environment="prod")[0].id, "note", fence=fence
        ),
    ),
}


@pytest.fixture
def release_id(store: Store) -> str:
    release_id = store.releases.create(
        "web", artifact="a", config={}, secrets={}, schema_requires="", created_by="t"
    ).id
    store.rollouts.create("web", "prod", to_release=release_id, strategy="canary")
    return release_id


@pytest.mark.parametrize("write", sorted(WRITES))
def test_fenced_writes_need_the_current_token(
    store: Store, store_url: str, clock: VirtualClock, release_id: str, write: str
) -> None:
    table, do = WRITES[write]
    alice = store.leases.try_acquire("leader", "alice", duration_seconds=10)
    assert alice is not None
    before = count_rows(store_url, table)

    clock.advance(11)  # alice pauses past her lease; bob takes over
    bob = store.leases.try_acquire("leader", "bob", duration_seconds=10)
    assert bob is not None
    assert bob.fencing_token > alice.fencing_token

    with pytest.raises(StaleFencingToken, match="held by 'bob'") as caught:
        do(store, release_id, alice.fence())
    assert caught.value.hint
    assert count_rows(store_url, table) == before

    do(store, release_id, bob.fence())
    assert count_rows(store_url, table) == before + 1


def test_released_or_deleted_lease_fences_nothing(store: Store, store_url: str) -> None:
    lease = store.leases.try_acquire("leader", "alice", duration_seconds=10)
    assert lease is not None
    store.events.append("roost.ok", source="/t", fence=lease.fence())
    store.leases.release("leader", "alice")
    with pytest.raises(StaleFencingToken, match="released"):
        store.events.append("roost.late", source="/t", fence=lease.fence())
    store.leases.delete("leader")
    with pytest.raises(StaleFencingToken, match="no longer exists"):
        store.events.append("roost.late", source="/t", fence=lease.fence())
    with pytest.raises(StaleFencingToken, match="no longer exists"):
        store.events.append("roost.late", source="/t", fence=Fence("never-existed", 1))
    assert [e.type for e in store.events.list()] == ["roost.ok"]


def test_stale_transition_writes_neither_state_nor_timeline(
    store: Store, release_id: str, clock: VirtualClock
) -> None:
    rollout = store.rollouts.list(environment="prod")[0]
    old = store.leases.try_acquire("leader", "alice", duration_seconds=10)
    assert old is not None
    clock.advance(11)
    store.leases.try_acquire("leader", "bob", duration_seconds=10)
    with pytest.raises(StaleFencingToken):
        store.rollouts.transition(
            rollout.id,
            expected_version=1,
            state="progressing",
            timeline=[("step", {})],
            fence=old.fence(),
        )
    assert store.rollouts.get(rollout.id) == rollout
    assert store.rollouts.timeline(rollout.id) == []


def test_a_takeover_waits_for_an_in_flight_fenced_write(store: Store, clock: VirtualClock) -> None:
    # The fence check and the write it guards are one transaction, and the check locks the
    # lease row (PostgreSQL: FOR SHARE; SQLite: BEGIN IMMEDIATE), so a takeover cannot slip in
    # between them: it waits for the fenced write to commit.
    alice = store.leases.try_acquire("leader", "alice", duration_seconds=10)
    assert alice is not None
    clock.advance(11)
    taken: list[LeaseRecord | None] = []
    finished = threading.Event()

    def take_over() -> None:
        taken.append(store.leases.try_acquire("leader", "bob", duration_seconds=10))
        finished.set()

    with store._db.writing() as conn:
        check_fence(conn, alice.fence())
        thread = threading.Thread(target=take_over)
        thread.start()
        assert not finished.wait(0.3), "the takeover did not wait for the fenced write"
    thread.join(timeout=30)
    assert taken[0] is not None
    assert taken[0].fencing_token > alice.fencing_token
