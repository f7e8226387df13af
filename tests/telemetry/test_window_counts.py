"""Window counts from cumulative sums agree with walking the buckets, through every way the
store changes: new buckets, folding into coarser tiers, ageing out, late observations, restore."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roost.clock.virtual import VirtualClock
from roost.telemetry import Tier, TimeSeriesStore
from roost.telemetry.classes import FAILED_FROM
from roost.telemetry.counting import WindowCounts, bad_class_indexes, under_limit

TIERS = [
    Tier(1, timedelta(minutes=2)),
    Tier(10, timedelta(minutes=10)),
    Tier(60, timedelta(hours=1)),
]
WINDOWS = [timedelta(seconds=s) for s in (1, 5, 30, 61, 119, 300, 599, 1800, 3600, 7200)]


def _walked(store: TimeSeriesStore, window: timedelta, under: float) -> WindowCounts:
    # The reference: the buckets _window walks, added up one by one.
    limit = under_limit(under)
    with store._lock:
        buckets = store._window("svc", "v1", window)
        classes = [sum(b.counts[i] for b in buckets) for i in range(5)]
        faster = sum(n for b in buckets for index, n in b.hist_pairs() if index < limit)
    return WindowCounts(tuple(classes), faster)


def _check(store: TimeSeriesStore) -> None:
    for window in WINDOWS:
        got = store.window_counts("svc", "v1", window=window, under=0.1)
        assert got == _walked(store, window, 0.1), window
        total = store.request_count("svc", "v1", window=window)
        assert got.total == total
        ratio = store.error_ratio("svc", "v1", window=window)
        failed = sum(got.classes[FAILED_FROM:])
        assert ratio == (failed / total if total else None)


def test_cumulative_counts_match_the_buckets(tmp_path: Path) -> None:
    rng = random.Random(7)
    clock = VirtualClock(datetime(2025, 1, 1, tzinfo=UTC))
    store = TimeSeriesStore(clock=clock, tiers=TIERS, seed=1)
    for step in range(3000):
        clock.advance(rng.choice([0.2, 0.7, 1.0, 3.0, 13.0]))
        status = rng.choice([200, 200, 200, 302, 404, 500, 0])
        store.add("svc", "v1", status, rng.uniform(0.001, 0.4))
        if step % 97 == 0:  # a late observation lands in an already sealed bucket
            late = clock.now().timestamp() - rng.uniform(2, 600)
            store.add("svc", "v1", 503, 0.05, at=late)
        if step % 250 == 0:
            _check(store)
    _check(store)
    path = tmp_path / "t.snapshot"
    store.snapshot(path)
    again = TimeSeriesStore(clock=clock, tiers=TIERS, seed=1)
    again.restore(path)
    _check(again)
    clock.advance(1800)  # most of it ages out
    _check(store)


def test_no_history_is_zero_and_a_window_must_be_positive() -> None:
    clock = VirtualClock(datetime(2025, 1, 1, tzinfo=UTC))
    store = TimeSeriesStore(clock=clock)
    assert store.window_counts("svc", "v1", window=timedelta(hours=1)).total == 0
    assert store.window_counts("svc", "v1", window=timedelta(hours=1), under=0.1).under == 0
    with pytest.raises(ValueError, match="must be positive"):
        store.window_counts("svc", "v1", window=timedelta(0))


def test_bad_status_must_cover_whole_classes() -> None:
    assert bad_class_indexes("500-599") == (3, 4)
    assert bad_class_indexes("400-599") == (2, 3, 4)
    assert bad_class_indexes("400-499") == (2,)
    with pytest.raises(ValueError, match="splits the 5xx class"):
        bad_class_indexes("500-503")
