from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from roost.clock import VirtualClock
from roost.store import NotFound, ReleaseRecord, Store


def cut(store: Store, service: str = "web", **overrides: Any) -> ReleaseRecord:
    values: dict[str, Any] = {
        "artifact": "oci:sha256:abc",
        "config": {"PORT": 8080, "features": ["a", "b"]},
        "secrets": {"DB_PASSWORD": "v3"},
        "schema_requires": ">=3,<5",
        "schema_migrates_to": 4,
        "created_by": "ci",
    }
    values.update(overrides)
    return store.releases.create(service, **values)


def test_create_stores_the_whole_release(store: Store, clock: VirtualClock) -> None:
    release = cut(store, notes="first")
    assert release == ReleaseRecord(
        id="web-r1",
        service="web",
        seq=1,
        artifact="oci:sha256:abc",
        config={"PORT": 8080, "features": ["a", "b"]},
        secrets={"DB_PASSWORD": "v3"},
        schema_requires=">=3,<5",
        schema_migrates_to=4,
        created_at=clock.now(),
        created_by="ci",
        notes="first",
    )
    assert store.releases.get("web-r1") == release


def test_seq_increments_per_service(store: Store, clock: VirtualClock) -> None:
    assert [cut(store, "web").id for _ in range(3)] == ["web-r1", "web-r2", "web-r3"]
    assert cut(store, "api").id == "api-r1"
    assert cut(store, "web", schema_migrates_to=None).seq == 4
    latest = store.releases.latest("web")
    assert latest is not None
    assert latest.id == "web-r4"
    assert store.releases.latest("nope") is None


def test_concurrent_creates_get_unique_gapless_seqs(store: Store) -> None:
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def creator() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                results.append(cut(store, "web").seq)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=creator) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == list(range(1, 31))


def test_list_is_newest_first_and_filters(store: Store, clock: VirtualClock) -> None:
    for service in ("web", "api", "web"):
        cut(store, service)
        clock.advance(1)
    assert [r.id for r in store.releases.list()] == ["web-r2", "api-r1", "web-r1"]
    assert [r.id for r in store.releases.list("web")] == ["web-r2", "web-r1"]
    assert [r.id for r in store.releases.list(limit=1)] == ["web-r2"]


def test_releases_are_immutable(store: Store) -> None:
    release = cut(store)
    # No way to change or remove a release through the store (the one change a release takes
    # is its secret pins' digests moving to their keyed form, docs/secrets.md) ...
    public = {name for name in dir(store.releases) if not name.startswith("_")}
    assert public == {"create", "find", "get", "list", "latest", "rekey_digests"}
    # ... records are frozen ...
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.artifact = "other"  # type: ignore[misc]
    # ... and scribbling on a returned dict does not reach the database.
    release.config["PORT"] = 1
    assert store.releases.get("web-r1").config["PORT"] == 8080


def test_missing_release_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="web-r9"):
        store.releases.get("web-r9")


def test_bad_input_is_refused_before_writing(store: Store) -> None:
    with pytest.raises(ValueError, match="service"):
        cut(store, "")
    with pytest.raises(TypeError, match="config must be JSON"):
        cut(store, config={"when": object()})
    assert store.releases.list() == []
