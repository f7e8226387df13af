"""Snapshot and restore: an agent restart keeps the history."""

import gzip
from datetime import timedelta

import pytest

from roost.clock import VirtualClock
from roost.telemetry import SnapshotError, Tier, TimeSeriesStore

HOUR = timedelta(hours=1)


def _fill(store: TimeSeriesStore, clock: VirtualClock) -> None:
    for second in range(7200):  # two hours: both tiers hold data
        store.add("web", "v1", 503 if second % 10 == 0 else 200, 0.001 * (1 + second % 50))
        if second % 2:
            store.add("web", "v2", 200, 0.02)
        clock.advance(1)


def test_restore_gives_the_same_answers(tmp_path) -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock, seed=1)
    _fill(store, clock)
    store.add("web", "v1", 200, 0.5)  # in the open bucket
    path = tmp_path / "telemetry.json.gz"
    store.snapshot(path)
    restored = TimeSeriesStore(clock=clock, seed=1)
    assert restored.restore(path) > 0
    assert restored.series() == store.series() == [("web", "v1"), ("web", "v2")]
    for window in (timedelta(seconds=30), HOUR, 3 * HOUR):
        for revision in ("v1", "v2"):
            assert restored.request_count("web", revision, window=window) == store.request_count(
                "web", revision, window=window
            )
            assert restored.error_ratio("web", revision, window=window) == store.error_ratio(
                "web", revision, window=window
            )
            for q in (0.5, 0.99):
                assert restored.latency_quantile(
                    "web", revision, q, window=window
                ) == store.latency_quantile("web", revision, q, window=window)
    assert len(restored.latency_samples("web", "v1", window=HOUR)) == len(
        store.latency_samples("web", "v1", window=HOUR)
    )
    assert path.stat().st_size < 2_000_000
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was renamed away


def test_restore_into_other_tiers_and_after_downtime(tmp_path) -> None:
    clock = VirtualClock()
    store = TimeSeriesStore(clock=clock)
    _fill(store, clock)
    path = tmp_path / "snap"
    store.snapshot(path)
    clock.advance(3 * 3600)  # the agent was down for three hours
    coarse = TimeSeriesStore(clock=clock, tiers=[Tier(60, timedelta(days=2))])
    coarse.restore(path)
    assert coarse.request_count("web", "v1", window=timedelta(hours=6)) == 7200
    assert coarse.request_count("web", "v1", window=HOUR) == 0


def test_unreadable_snapshots_are_refused_clearly(tmp_path) -> None:
    store = TimeSeriesStore(clock=VirtualClock())
    with pytest.raises(SnapshotError, match="no telemetry snapshot"):
        store.restore(tmp_path / "missing")
    (tmp_path / "garbage").write_bytes(b"not gzip")
    with pytest.raises(SnapshotError, match="unreadable"):
        store.restore(tmp_path / "garbage")
    with gzip.open(tmp_path / "other", "wb") as f:
        f.write(b'{"format": "something-else"}')
    with pytest.raises(SnapshotError, match="something-else"):
        store.restore(tmp_path / "other")
    with gzip.open(tmp_path / "broken", "wb") as f:
        f.write(b'{"format": "roost-telemetry/1", "tiers": [[1]], "series": [{"service": "x"}]}')
    with pytest.raises(SnapshotError, match="malformed"):
        store.restore(tmp_path / "broken")
