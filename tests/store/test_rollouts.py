from __future__ import annotations

import threading

import pytest
from tests.store._db import count_rows

from roost.clock import VirtualClock
from roost.store import Conflict, NotFound, RolloutRecord, Store


@pytest.fixture
def releases(store: Store) -> tuple[str, str]:
    ids = []
    for _ in range(2):
        ids.append(
            store.releases.create(
                "web", artifact="a", config={}, secrets={}, schema_requires="", created_by="t"
            ).id
        )
    return ids[0], ids[1]


@pytest.fixture
def rollout(store: Store, releases: tuple[str, str]) -> RolloutRecord:
    return store.rollouts.create(
        "web",
        "production",
        from_release=releases[0],
        to_release=releases[1],
        strategy="canary",
        timeline=[("created", {"by": "alice"})],
    )


def test_create_starts_at_version_one(
    store: Store, rollout: RolloutRecord, clock: VirtualClock
) -> None:
    assert rollout.version == 1
    assert rollout.state == "pending"
    assert rollout.step == 0
    assert rollout.active
    assert rollout.created_at == rollout.updated_at == clock.now()
    assert store.rollouts.get(rollout.id) == rollout
    assert [e.kind for e in store.rollouts.timeline(rollout.id)] == ["created"]


def test_transition_moves_state_and_appends_timeline(
    store: Store, rollout: RolloutRecord, clock: VirtualClock
) -> None:
    clock.advance(30)
    moved = store.rollouts.transition(
        rollout.id,
        expected_version=1,
        state="progressing",
        step=1,
        data={"weight": 10},
        timeline=[("step-started", {"step": 1}), ("weights-set", {"canary": 10})],
    )
    assert (moved.state, moved.step, moved.version, moved.data) == (
        "progressing",
        1,
        2,
        {"weight": 10},
    )
    assert moved.updated_at == clock.now()
    assert moved.created_at == rollout.created_at
    assert store.rollouts.get(rollout.id) == moved
    timeline = store.rollouts.timeline(rollout.id)
    assert [e.kind for e in timeline] == ["created", "step-started", "weights-set"]
    assert timeline[-1].detail == {"canary": 10}
    assert timeline[-1].at == clock.now()


def test_stale_expected_version_conflicts_and_writes_nothing(
    store: Store, rollout: RolloutRecord, store_url: str
) -> None:
    current = store.rollouts.transition(rollout.id, expected_version=1, state="progressing")
    timeline_before = store.rollouts.timeline(rollout.id)
    with pytest.raises(Conflict, match="version 2"):
        store.rollouts.transition(
            rollout.id, expected_version=1, state="aborted", timeline=[("abort", {})]
        )
    assert store.rollouts.get(rollout.id) == current
    assert store.rollouts.timeline(rollout.id) == timeline_before
    assert count_rows(store_url, "rollout_timeline") == len(timeline_before)


def test_concurrent_transitions_only_one_wins(store: Store, rollout: RolloutRecord) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(5)

    def mover(n: int) -> None:
        barrier.wait()
        try:
            store.rollouts.transition(
                rollout.id, expected_version=1, state=f"s{n}", timeline=[(f"t{n}", {})]
            )
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=mover, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 4 + ["won"]
    final = store.rollouts.get(rollout.id)
    assert final.version == 2
    assert [e.kind for e in store.rollouts.timeline(rollout.id)][1:] == [f"t{final.state[1:]}"]


def test_ended_rollout_cannot_transition_but_can_log(
    store: Store, rollout: RolloutRecord, clock: VirtualClock
) -> None:
    ended = store.rollouts.transition(rollout.id, expected_version=1, state="aborted", ended=True)
    assert ended.ended_at == clock.now()
    assert not ended.active
    with pytest.raises(Conflict, match="has ended"):
        store.rollouts.transition(rollout.id, expected_version=2, state="progressing")
    entry = store.rollouts.append_timeline(rollout.id, "canary-scaled-down", {"replicas": 0})
    assert store.rollouts.timeline(rollout.id)[-1] == entry


def test_timeline_is_append_only_and_ordered(
    store: Store, rollout: RolloutRecord, clock: VirtualClock
) -> None:
    kinds = ["created"]
    for n in range(5):
        kind = f"k{n}"
        store.rollouts.append_timeline(rollout.id, kind, {"n": n})
        kinds.append(kind)
    timeline = store.rollouts.timeline(rollout.id)
    assert [e.kind for e in timeline] == kinds
    assert [e.id for e in timeline] == sorted(e.id for e in timeline)
    public = {name for name in dir(store.rollouts) if not name.startswith("_")}
    assert not {"delete", "update", "delete_timeline"} & public


def test_one_active_rollout_per_service_and_environment(
    store: Store, rollout: RolloutRecord, releases: tuple[str, str]
) -> None:
    with pytest.raises(Conflict, match="already has an active rollout"):
        store.rollouts.create("web", "production", to_release=releases[0], strategy="canary")
    staging = store.rollouts.create("web", "staging", to_release=releases[1], strategy="canary")
    store.rollouts.transition(rollout.id, expected_version=1, state="promoted", ended=True)
    again = store.rollouts.create("web", "production", to_release=releases[0], strategy="blue")
    assert store.rollouts.active("web", "production") == again
    assert {r.id for r in store.rollouts.list(active_only=True)} == {again.id, staging.id}
    assert [r.id for r in store.rollouts.list("web", "production")] == [again.id, rollout.id]
    assert store.rollouts.list(environment="staging") == [staging]


def test_create_checks_releases(store: Store, releases: tuple[str, str]) -> None:
    with pytest.raises(NotFound, match="web-r9"):
        store.rollouts.create("web", "production", to_release="web-r9", strategy="canary")
    with pytest.raises(ValueError, match="belongs to 'web'"):
        store.rollouts.create("api", "production", to_release=releases[0], strategy="canary")
    assert store.rollouts.list() == []


def test_missing_rollout_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.rollouts.get("nope")
    with pytest.raises(NotFound):
        store.rollouts.transition("nope", expected_version=1, state="x")
    with pytest.raises(NotFound):
        store.rollouts.timeline("nope")
    with pytest.raises(NotFound):
        store.rollouts.append_timeline("nope", "x")
