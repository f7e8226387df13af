"""The build history in the store (``store.builds``), on SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from roost.clock import VirtualClock
from roost.store import Conflict, NotFound, Store, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, VirtualClock]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    clock = VirtualClock()
    with open_store(url, clock=clock) as store:
        yield store, clock


def _create(store: Store, service: str = "web") -> str:
    build = store.builds.create(
        service,
        ref="main",
        commit_sha="a" * 40,
        branch="main",
        trigger="manual",
        steps=[("deps", ()), ("test", ()), ("package", ("deps", "test"))],
        created_by="alice",
        runner="host:1",
        data={"deploy_to": None},
    )
    return build.id


def test_a_build_with_its_steps_durations_and_cache_hits(
    history: tuple[Store, VirtualClock],
) -> None:
    store, clock = history
    build_id = _create(store)
    assert build_id == "web-b1"
    assert _create(store) == "web-b2"
    assert _create(store, "api") == "api-b1"
    steps = store.builds.steps(build_id)
    assert [(s.name, s.state, s.needs) for s in steps] == [
        ("deps", "pending", []),
        ("test", "pending", []),
        ("package", "pending", ["deps", "test"]),
    ]
    store.builds.step_finished(build_id, "deps", "cached", cache_key="sha256:k", cache_hit=True)
    store.builds.step_started(build_id, "test")
    clock.advance(2.5)
    store.builds.step_finished(build_id, "test", "succeeded", exit_code=0)
    store.builds.step_started(build_id, "package")
    clock.advance(1)
    store.builds.step_finished(build_id, "package", "succeeded", exit_code=0)
    build = store.builds.finish(build_id, "succeeded", artifact="sha256:" + "b" * 64)
    assert (build.state, build.duration) == ("succeeded", timedelta(seconds=3.5))
    deps, test, package = store.builds.steps(build_id)
    assert (deps.cache_hit, deps.cache_key, deps.duration) == (True, "sha256:k", timedelta(0))
    assert test.duration == timedelta(seconds=2.5)
    assert package.exit_code == 0
    assert store.builds.set_release(build_id, "web-r1").release_id == "web-r1"
    assert [b.id for b in store.builds.list("web")] == ["web-b2", "web-b1"]


def test_finishing_settles_the_steps_that_did_not_run_in_one_go(
    history: tuple[Store, VirtualClock],
) -> None:
    store, _ = history
    build_id = _create(store)
    store.builds.step_started(build_id, "deps")
    store.builds.step_started(build_id, "test")
    store.builds.step_finished(build_id, "test", "failed", exit_code=1, error="exit 1")
    store.builds.finish(build_id, "failed", error="step test failed: exit 1")
    states = {s.name: s.state for s in store.builds.steps(build_id)}
    assert states == {"deps": "cancelled", "test": "failed", "package": "skipped"}
    assert all(s.ended_at is not None for s in store.builds.steps(build_id))
    with pytest.raises(Conflict, match="already finished"):
        store.builds.finish(build_id, "succeeded")
    with pytest.raises(Conflict):
        store.builds.step_finished(build_id, "deps", "succeeded")
    with pytest.raises(Conflict, match="only a green build releases"):
        store.builds.set_release(build_id, "web-r1")
    with pytest.raises(Conflict, match="already finished"):
        store.builds.request_cancel(build_id)


def test_cancel_is_a_request_the_runner_reads(history: tuple[Store, VirtualClock]) -> None:
    store, _ = history
    build_id = _create(store)
    assert not store.builds.get(build_id).cancel_requested
    assert store.builds.request_cancel(build_id).cancel_requested
    with pytest.raises(NotFound):
        store.builds.get("web-b99")
    with pytest.raises(ValueError, match="not a final build state"):
        store.builds.finish(build_id, "running")


def test_a_build_whose_runner_died_is_marked_lost(history: tuple[Store, VirtualClock]) -> None:
    import socket
    import subprocess
    import sys

    from roost.build.reaping import reap_lost

    store, _ = history
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = store.builds.create(
        "web", ref="main", commit_sha="c" * 40, branch="main", trigger="hook",
        steps=[("a", ())], created_by="hook",
        runner=f"{socket.gethostname()}:{gone.stdout.strip()}",
    )  # fmt: skip
    alive = _create(store, "api")  # runner on another host: left alone
    assert [b.id for b in reap_lost(store)] == [dead.id]
    assert store.builds.get(dead.id).state == "lost"
    assert store.builds.get(dead.id).error == f"its runner (pid {gone.stdout.strip()}) is gone"
    assert store.builds.get(alive).state == "running"
