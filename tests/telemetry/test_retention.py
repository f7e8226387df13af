"""Retention and downsampling on a virtual clock, and the memory a week of history takes."""

import gc
import math
import random
import tracemalloc
from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.telemetry import Tier, TimeSeriesStore

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def test_old_seconds_fold_into_minutes_without_losing_counts() -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock, seed=3)
    # 10 minutes at 5 req/s, one in five a 500, latencies 10 ms and 200 ms.
    for _ in range(600):
        for i in range(5):
            store.add("web", "v1", 500 if i == 0 else 200, 0.2 if i == 0 else 0.01)
        clock.advance(1)
    p90_fresh = store.latency_quantile("web", "v1", 0.9, window=HOUR)
    clock.advance(2 * 3600)  # now everything is older than the 1 s tier keeps
    assert store.request_count("web", "v1", window=HOUR) == 0
    window = 3 * HOUR
    assert store.request_count("web", "v1", window=window) == 3000
    assert store.error_ratio("web", "v1", window=window) == pytest.approx(0.2)
    assert store.latency_quantile("web", "v1", 0.9, window=window) == p90_fresh
    assert len(store.latency_samples("web", "v1", window=window, limit=10_000)) == 10 * 32
    # Minute resolution now: a window edge falls on whole minutes.
    clock.advance(30)
    edge = timedelta(seconds=7830 - 300)  # now is 7,830 s: from 300 s on, the last 5 minutes
    assert store.request_count("web", "v1", window=edge) == 1500
    # After a week it is gone altogether.
    clock.advance(WEEK.total_seconds())
    assert store.request_count("web", "v1", window=timedelta(days=30)) == 0
    assert store.memory_bytes() == 0


def test_tiers_are_configurable() -> None:
    clock = VirtualClock()
    tiers = [Tier(5, timedelta(minutes=10), samples=4), Tier(300, DAY, samples=8), Tier(3600, WEEK)]
    store = TimeSeriesStore(clock=clock, tiers=tiers)
    for _ in range(3600):
        store.add("web", "v1", 200, 0.05)
        clock.advance(1)
    day = timedelta(days=1)
    assert store.request_count("web", "v1", window=day) == 3600
    clock.advance(2 * 86400)
    assert store.request_count("web", "v1", window=timedelta(days=3)) == 3600
    assert len(store.latency_samples("web", "v1", window=timedelta(days=3))) <= 32


def _busy(store: TimeSeriesStore, rng: random.Random, *, start: float, seconds: int) -> None:
    """Traffic as a store sees it when every second of the span is busy.

    Older than the last hour only minute buckets are kept, and 40 requests per minute fill a
    minute's reservoir and histogram as much as 40 per second would: so the span before the
    last hour gets 40 requests in two seconds of each minute (a 30th of the cost to simulate),
    and the last hour 40 requests every second.
    """
    recent = max(0, seconds - 3600)
    for minute in range(recent // 60):
        base = start + minute * 60
        for i in range(40):
            latency = rng.lognormvariate(math.log(0.03), 0.7)
            store.add("web", "v1", 200, latency, at=base + i // 20)
    for second in range(recent, seconds):
        for _ in range(40):
            latency = rng.lognormvariate(math.log(0.03), 0.7)
            store.add("web", "v1", 200, latency, at=start + second)


@pytest.mark.slow
def test_a_busy_week_stays_small() -> None:
    """A week of traffic every second, with a lognormal spread of latencies: under 16 MB."""
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock, seed=4)
    week = int(WEEK.total_seconds())
    _busy(store, random.Random(9), start=clock.now().timestamp(), seconds=week)
    clock.advance(week)
    assert store.request_count("web", "v1", window=WEEK) == (week // 60 - 60) * 40 + 3600 * 40
    used = store.memory_bytes()
    print(f"a busy week: {used / 1e6:.1f} MB")
    assert used < 16e6


def test_the_memory_estimate_matches_what_is_allocated() -> None:
    clock = VirtualClock()
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        store = TimeSeriesStore(clock=clock, seed=4)
        _busy(store, random.Random(9), start=clock.now().timestamp(), seconds=3 * 3600)
        clock.advance(3 * 3600)
        store.request_count("web", "v1", window=HOUR)  # seals the last open bucket
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0.8 < store.memory_bytes() / used < 1.2
