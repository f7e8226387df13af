"""The applied roost.yaml: appended per apply, the newest is current, survives a reopen."""

from __future__ import annotations

import pytest

from roost.clock import VirtualClock
from roost.store import Store, open_store, project_digest


def test_nothing_applied_yet(store: Store) -> None:
    assert store.applied.latest() is None
    assert store.applied.history() == []


def test_the_newest_apply_is_current_and_history_keeps_who_and_when(
    store: Store, clock: VirtualClock
) -> None:
    first = store.applied.record("project: a\n", applied_by="alice")
    clock.advance(60)
    second = store.applied.record("project: b\n", applied_by="bob")
    assert store.applied.latest() == second
    assert second.digest == project_digest("project: b\n")
    assert second.digest.startswith("sha256:")
    assert (second.applied_by, second.applied_at) == ("bob", clock.now())
    assert second.seq > first.seq
    assert [r.text for r in store.applied.history()] == ["project: b\n", "project: a\n"]


def test_it_survives_closing_and_reopening(store_url: str) -> None:
    with open_store(store_url) as store:
        store.applied.record("project: kept\n", applied_by="serve")
    with open_store(store_url) as store:
        latest = store.applied.latest()
    assert latest is not None
    assert latest.text == "project: kept\n"


def test_bad_values_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="applied_by"):
        store.applied.record("project: a\n", applied_by=" ")
    with pytest.raises(ValueError, match="at most"):
        store.applied.record("x" * 1_000_001, applied_by="alice")
    assert store.applied.latest() is None
