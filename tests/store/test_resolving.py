"""Ids as people type them back: exact first, then a unique leading part; an ambiguous one
names the candidates. The same rules for releases, builds, rollouts and events, on every
backend of the store."""

from __future__ import annotations

import pytest

from roost.store import Ambiguous, NotFound, Store


def _release(store: Store, service: str = "web") -> str:
    return store.releases.create(
        service, artifact="a", config={}, secrets={}, schema_requires="", created_by="t"
    ).id


def test_rollout_ids_resolve_from_a_unique_prefix_and_a_shortened_listing(store: Store) -> None:
    one, two = _release(store), _release(store)
    first = store.rollouts.create("web", "dev", to_release=one, strategy="canary")
    second = store.rollouts.create("api", "dev", to_release=_release(store, "api"), strategy="x")
    assert store.rollouts.find(first.id).id == first.id
    # The shortest prefix that tells them apart, as typed (lowercase) and as `roost history`
    # shows it (with "…").
    common = next(i for i in range(26) if first.id[i] != second.id[i])
    prefix = first.id[: common + 1]
    assert store.rollouts.find(prefix.lower()).id == first.id
    assert store.rollouts.find(prefix + "…").id == first.id
    assert store.rollouts.find(prefix + "...").id == first.id
    with pytest.raises(Ambiguous) as caught:
        store.rollouts.find(first.id[:common])
    assert first.id in str(caught.value)
    assert second.id in str(caught.value)
    with pytest.raises(NotFound):
        store.rollouts.find("ZZZZ")
    with pytest.raises(NotFound):
        store.rollouts.find("")
    assert two  # a second release of web exists; rollouts never match release ids
    with pytest.raises(NotFound):
        store.rollouts.find("web-r")


def test_release_ids_exact_first_and_never_a_longer_number(store: Store) -> None:
    ids = [_release(store) for _ in range(10)]
    assert ids[0] == "web-r1"
    assert ids[9] == "web-r10"
    assert store.releases.find("web-r1").id == "web-r1"
    # A full id is only ever itself: web-r2 exists, and "web-r1" never means web-r10.
    assert store.releases.find("web-r10").id == "web-r10"
    with pytest.raises(NotFound):
        store.releases.find("web-r11")
    with pytest.raises(Ambiguous) as caught:
        store.releases.find("web-")
    assert "web-r1, web-r10" in str(caught.value)
    assert _release(store, "worker") == "worker-r1"
    assert store.releases.find("wo").id == "worker-r1"
    # LIKE wildcards in what was typed match themselves only.
    with pytest.raises(NotFound):
        store.releases.find("w%")
    with pytest.raises(NotFound):
        store.releases.find("web_r1")


def test_events_resolve_the_same_way(store: Store) -> None:
    event = store.events.append("dev.roost.test", source="test", subject="web", actor="t", data={})
    assert store.events.find(event.id[:20].lower()).id == event.id
    with pytest.raises(NotFound):
        store.events.find(event.id[:20] + "X")
