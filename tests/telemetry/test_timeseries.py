"""Window maths of the embedded store on a virtual clock."""

import math
import random
from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.telemetry import MetricsSource, Tier, TimeSeriesStore
from roost.telemetry.histograms import RELATIVE_ERROR

MINUTE = timedelta(minutes=1)


def test_store_satisfies_the_protocol() -> None:
    assert isinstance(TimeSeriesStore(clock=VirtualClock()), MetricsSource)


def test_rate_count_and_error_ratio_over_windows() -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock)
    assert store.error_ratio("web", "v1", window=MINUTE) is None
    assert store.latency_quantile("web", "v1", 0.5, window=MINUTE) is None
    assert store.request_count("web", "v1", window=MINUTE) == 0
    assert store.latency_samples("web", "v1", window=MINUTE) == []
    # Two minutes of 10 req/s; the first minute 10 % 5xx, the second 50 % no-response errors.
    for second in range(120):
        for i in range(10):
            status = (503 if i == 0 else 200) if second < 60 else 0 if i % 2 else 201
            store.add("web", "v1", status, 0.01)
        clock.advance(1)
    # now = 120 s; a 60 s window covers the buckets starting at 60 … 120 (120 is empty).
    assert store.request_count("web", "v1", window=MINUTE) == 600
    assert store.request_rate("web", "v1", window=MINUTE) == pytest.approx(10.0)
    assert store.error_ratio("web", "v1", window=MINUTE) == pytest.approx(0.5)
    two = timedelta(minutes=2)
    assert store.request_count("web", "v1", window=two) == 1200
    assert store.error_ratio("web", "v1", window=two) == pytest.approx((60 + 300) / 1200)
    assert store.request_count("web", "v1", window=timedelta(seconds=10)) == 100
    # Other revisions and services are separate.
    assert store.request_count("web", "v2", window=two) == 0
    assert store.request_count("api", "v1", window=two) == 0
    # Time passes with no traffic: the window empties.
    clock.advance(3600)
    assert store.request_count("web", "v1", window=MINUTE) == 0
    assert store.error_ratio("web", "v1", window=MINUTE) is None
    with pytest.raises(ValueError, match="positive"):
        store.request_count("web", "v1", window=timedelta(0))


def test_quantiles_through_the_store_match_the_distribution() -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock, seed=1)
    rng = random.Random(5)
    canary: list[float] = []
    for _ in range(300):  # five minutes, 40 req/s
        for _ in range(40):
            latency = rng.lognormvariate(math.log(0.05), 0.6)
            canary.append(latency)
            store.add("web", "canary", 200, latency)
        clock.advance(1)
    canary.sort()
    window = timedelta(minutes=10)
    for q in (0.5, 0.9, 0.99):
        exact = canary[math.ceil(q * len(canary)) - 1]
        got = store.latency_quantile("web", "canary", q, window=window)
        assert got is not None
        assert abs(got - exact) / exact <= RELATIVE_ERROR + 1e-9
    with pytest.raises(ValueError, match="between 0 and 1"):
        store.latency_quantile("web", "canary", 99, window=window)


def test_samples_are_bounded_and_spread_across_the_window() -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock, seed=2)
    # 100 s of traffic: fast (10 ms) for the first half, slow (100 ms) for the second.
    for second in range(100):
        for _ in range(50):
            store.add("web", "v1", 200, 0.01 if second < 50 else 0.1)
        clock.advance(1)
    samples = store.latency_samples("web", "v1", window=timedelta(minutes=5), limit=500)
    assert len(samples) == 500
    slow = sum(1 for s in samples if s > 0.05)
    assert 200 <= slow <= 300  # both halves are represented in proportion
    few = store.latency_samples("web", "v1", window=timedelta(seconds=5), limit=1000)
    assert 0 < len(few) <= 5 * 32  # only the window's buckets, at most a reservoir each
    assert all(s == pytest.approx(0.1) for s in few)


def test_a_late_observation_lands_in_its_own_second() -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock)
    start = clock.now().timestamp()
    clock.advance(30)
    store.add("web", "v1", 200, 0.01)
    store.add("web", "v1", 500, 0.01, at=start + 5)  # recorded late
    assert store.request_count("web", "v1", window=timedelta(seconds=10)) == 1
    assert store.request_count("web", "v1", window=timedelta(seconds=30)) == 2
    assert store.error_ratio("web", "v1", window=timedelta(seconds=30)) == 0.5


def test_bad_tiers_are_refused() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match="divide"):
        TimeSeriesStore(
            clock=clock, tiers=[Tier(2, timedelta(hours=1)), Tier(3, timedelta(days=1))]
        )
    with pytest.raises(ValueError, match="longer"):
        TimeSeriesStore(
            clock=clock, tiers=[Tier(1, timedelta(hours=1)), Tier(60, timedelta(hours=1))]
        )
    with pytest.raises(ValueError, match="at least one"):
        TimeSeriesStore(clock=clock, tiers=[])
    with pytest.raises(ValueError, match="whole number"):
        Tier(0, timedelta(hours=1))
