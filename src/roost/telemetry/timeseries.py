"""The embedded time-series store: the default :class:`~roost.telemetry.MetricsSource`.

Each (service, revision) keeps buckets in *tiers*. The default is one-second buckets for an hour,
then one-minute buckets for a week: a bucket that ages out of a tier is folded (counts and
histograms added, samples downsampled in proportion) into the next tier's bucket covering it,
and dropped after the last tier. Every request is in exactly one tier at any time, so a window
that spans tiers never counts a request twice.

Memory: a sealed bucket is about 0.9 KB when busy (see :mod:`roost.telemetry.buckets`) and
nothing when its window had no requests. A revision that serves traffic every second of a week
holds 3,600 one-second buckets plus 10,080 one-minute buckets: about 12 MB with the defaults
(measured by ``tests/telemetry/test_retention.py``); quiet revisions cost proportionally less.
Shrink it with fewer samples per bucket or coarser tiers.

Windows are measured on the injected clock's wall time (``clock.now()``), because buckets must
line up across an agent restart, which a monotonic clock does not survive. A window covers the
buckets that *start* inside it, at the resolution of the tier holding them: a 60 s window over
one-second buckets is the 60 or 61 whole seconds up to and including the current one.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from roost.clock import Clock
from roost.telemetry.buckets import Bucket, OpenBucket, proportional_sample
from roost.telemetry.classes import CODE_CLASSES, FAILED_FROM, class_index
from roost.telemetry.counting import WindowCounts, under_limit
from roost.telemetry.histograms import quantile
from roost.telemetry.persisting import SnapshotError, read_snapshot, write_snapshot
from roost.telemetry.prefix import PrefixIndex


@dataclass(frozen=True)
class Tier:
    """One resolution of history: ``resolution``-second buckets kept for ``keep``."""

    resolution: int
    keep: timedelta
    samples: int = 32

    def __post_init__(self) -> None:
        if self.resolution < 1:
            raise ValueError(f"a tier's resolution is a whole number of seconds ≥ 1, got {self}")
        if self.keep.total_seconds() < self.resolution:
            raise ValueError(f"a tier must keep at least one bucket, got {self}")
        if self.samples < 0:
            raise ValueError(f"samples per bucket cannot be negative, got {self}")


#: One-second buckets for an hour, then one-minute buckets for a week.
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(1, timedelta(hours=1)),
    Tier(60, timedelta(days=7)),
)


@dataclass
class _Series:
    open: OpenBucket | None = None
    # Per tier: buckets by start, and their starts in arrival order (oldest first, except for
    # late observations) so that ageing out is a popleft, not a scan.
    buckets: list[dict[int, Bucket]] = field(default_factory=list)
    order: list[deque[int]] = field(default_factory=list)
    # Per tier: cumulative counts for windows (see roost.telemetry.prefix).
    index: list[PrefixIndex] = field(default_factory=list)


class TimeSeriesStore:
    """Per-revision request counts, latency histograms and samples over time.

    Safe to call from several threads (one lock); :meth:`add` is O(1) apart from once per
    bucket, when the finished bucket is sealed and old buckets are folded into coarser ones.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        tiers: Sequence[Tier] = DEFAULT_TIERS,
        seed: int | None = None,
    ) -> None:
        if not tiers:
            raise ValueError("a store needs at least one tier")
        for finer, coarser in itertools.pairwise(tiers):
            if coarser.resolution % finer.resolution:
                raise ValueError(
                    f"tier resolutions must divide each other: {coarser.resolution}s "
                    f"after {finer.resolution}s"
                )
            if coarser.keep <= finer.keep:
                raise ValueError("each tier must keep history longer than the one before it")
        self._clock = clock
        self._tiers = tuple(tiers)
        self._keep = tuple(t.keep.total_seconds() for t in self._tiers)
        # Sampling only needs to be unbiased, not unpredictable.
        self._rng = random.Random(seed)  # noqa: S311
        self._series: dict[tuple[str, str], _Series] = {}
        self._lock = threading.Lock()

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """The configured tiers, finest first."""
        return self._tiers

    # -- writing ---------------------------------------------------------------------------

    def add(
        self,
        service: str,
        revision: str,
        status: int,
        latency_seconds: float,
        *,
        at: float | None = None,
    ) -> None:
        """Count one request. ``at`` is its POSIX time (default: the clock's now)."""
        t = self._clock.now().timestamp() if at is None else at
        cls = class_index(status)
        latency = max(0.0, latency_seconds)
        res = self._tiers[0].resolution
        start = math.floor(t / res) * res
        with self._lock:
            series = self._series.get((service, revision))
            if series is None:
                series = self._new_series()
                self._series[(service, revision)] = series
            current = series.open
            if current is not None and current.start == start:
                current.add(cls, latency)  # the hot path: same bucket as the last request
                return
            bucket = OpenBucket(start, cap=self._tiers[0].samples, rng=self._rng)
            bucket.add(cls, latency)
            if current is None or start > current.start:
                if current is not None:
                    self._put(series, 0, current.seal())
                series.open = bucket
                self._age(series, t)
            else:
                # A late observation (``at`` in an already sealed bucket): rare, so merging a
                # one-request bucket into the sealed one is fine.
                self._place(series, bucket.seal(), res, now=t)

    def _new_series(self) -> _Series:
        return _Series(
            buckets=[{} for _ in self._tiers],
            order=[deque() for _ in self._tiers],
            index=[PrefixIndex() for _ in self._tiers],
        )

    def _put(self, series: _Series, tier: int, bucket: Bucket) -> None:
        """Merge ``bucket`` into tier ``tier``'s bucket covering its start."""
        res = self._tiers[tier].resolution
        cap = self._tiers[tier].samples
        start = bucket.start // res * res
        buckets = series.buckets[tier]
        existing = buckets.get(start)
        if existing is not None:
            buckets[start] = merged = existing.merged(bucket, start=start, cap=cap, rng=self._rng)
            series.index[tier].added(merged, replaced=True)
            return
        if bucket.start != start or len(bucket.samples) > cap:
            empty = Bucket(
                start, (0,) * len(bucket.counts), 0.0, bucket.hist[:0], bucket.samples[:0]
            )
            bucket = empty.merged(bucket, start=start, cap=cap, rng=self._rng)
        buckets[start] = bucket
        series.order[tier].append(start)
        series.index[tier].added(bucket, replaced=False)

    def _age(self, series: _Series, now: float) -> None:
        """Fold buckets that aged out of a tier into the next one; drop them after the last."""
        current = series.open
        if current is not None and current.start + self._tiers[0].resolution <= now:
            # Its window is over and no request came after it to seal it.
            series.open = None
            self._put(series, 0, current.seal())
        last = len(self._tiers) - 1
        for tier, keep in enumerate(self._keep):
            res = self._tiers[tier].resolution
            cutoff = now - keep
            buckets = series.buckets[tier]
            order = series.order[tier]
            while order and order[0] + res <= cutoff:
                start = order.popleft()
                bucket = buckets.pop(start)
                series.index[tier].removed(start)
                if tier < last:
                    self._put(series, tier + 1, bucket)

    def _place(self, series: _Series, bucket: Bucket, resolution: int, *, now: float) -> bool:
        """Put a bucket from the past in the finest tier that can hold it; False if too old."""
        for tier, (spec, keep) in enumerate(zip(self._tiers, self._keep, strict=True)):
            if spec.resolution < resolution or spec.resolution % resolution:
                continue
            start = bucket.start // spec.resolution * spec.resolution
            if start + spec.resolution > now - keep:
                self._put(series, tier, bucket)
                return True
        return False

    # -- reading ---------------------------------------------------------------------------

    def _window(self, service: str, revision: str, window: timedelta) -> list[OpenBucket | Bucket]:
        """The buckets of one series that start within ``window`` of now. Caller holds the lock."""
        seconds = window.total_seconds()
        if seconds <= 0:
            raise ValueError(f"a window must be positive, got {window}")
        series = self._series.get((service, revision))
        if series is None:
            return []
        now = self._clock.now().timestamp()
        since = now - seconds
        self._age(series, now)
        found: list[OpenBucket | Bucket] = []
        current = series.open
        if current is not None and since <= current.start <= now:
            found.append(current)
        for spec, buckets in zip(self._tiers, series.buckets, strict=True):
            if not buckets:
                continue
            res = spec.resolution
            lo = math.ceil(since / res) * res
            hi = math.floor(now)
            if (hi - lo) // res + 1 <= len(buckets):
                for start in range(lo, hi + 1, res):
                    bucket = buckets.get(start)
                    if bucket is not None:
                        found.append(bucket)
            else:
                found.extend(b for s, b in buckets.items() if lo <= s <= hi)
        return found

    def request_count(self, service: str, revision: str, *, window: timedelta) -> int:
        """Requests that completed within ``window``."""
        with self._lock:
            return sum(b.count for b in self._window(service, revision, window))

    def request_rate(self, service: str, revision: str, *, window: timedelta) -> float:
        """Requests per second over ``window``."""
        return self.request_count(service, revision, window=window) / window.total_seconds()

    def error_ratio(self, service: str, revision: str, *, window: timedelta) -> float | None:
        """Share of requests within ``window`` that were 5xx or got no response at all."""
        with self._lock:
            total = failed = 0
            for bucket in self._window(service, revision, window):
                total += bucket.count
                failed += sum(bucket.counts[FAILED_FROM:])
        return failed / total if total else None

    def latency_quantile(
        self, service: str, revision: str, q: float, *, window: timedelta
    ) -> float | None:
        """The ``q``-quantile of latency (seconds) within ``window``, within about 2 %."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"a quantile must be between 0 and 1, got {q}")
        hist: dict[int, int] = {}
        with self._lock:
            for bucket in self._window(service, revision, window):
                for index, count in bucket.hist_pairs():
                    hist[index] = hist.get(index, 0) + count
        return quantile(hist, q)

    def latency_samples(
        self, service: str, revision: str, *, window: timedelta, limit: int = 1000
    ) -> list[float]:
        """Up to ``limit`` raw latencies (seconds) from ``window``, drawn across it in
        proportion to traffic — input for a rank test of canary against stable."""
        with self._lock:
            groups = [(b.count, list(b.samples)) for b in self._window(service, revision, window)]
            return proportional_sample(groups, limit, self._rng)

    def window_counts(
        self, service: str, revision: str, *, window: timedelta, under: float | None = None
    ) -> WindowCounts:
        """Requests within ``window`` per status class; with ``under`` (seconds) also how many
        were faster than that (see :func:`~roost.telemetry.counting.under_limit`).

        Answered from cumulative counts (:mod:`roost.telemetry.prefix`): two binary searches
        per tier, whatever the window's length — the same buckets as :meth:`request_count`.
        """
        seconds = window.total_seconds()
        if seconds <= 0:
            raise ValueError(f"a window must be positive, got {window}")
        limit = None if under is None else under_limit(under)
        classes = [0] * len(CODE_CLASSES)
        faster = 0
        with self._lock:
            series = self._series.get((service, revision))
            if series is None:
                return WindowCounts(tuple(classes), None if limit is None else 0)
            now = self._clock.now().timestamp()
            since = now - seconds
            self._age(series, now)
            current = series.open
            if current is not None and since <= current.start <= now:
                classes = list(current.counts)
                if limit is not None:
                    faster = sum(n for index, n in current.hist_pairs() if index < limit)
            for spec, buckets, index in zip(self._tiers, series.buckets, series.index, strict=True):
                if not buckets:
                    continue
                res = spec.resolution
                lo = math.ceil(since / res) * res
                found, n_under = index.counts(buckets, lo, math.floor(now), limit=limit)
                classes = [a + b for a, b in zip(classes, found, strict=True)]
                faster += n_under
        return WindowCounts(tuple(classes), None if limit is None else faster)

    def revisions(self, service: str) -> list[str]:
        """The revisions of ``service`` that have any history (running or not)."""
        with self._lock:
            return sorted(r for s, r in self._series if s == service)

    def series(self) -> list[tuple[str, str]]:
        """The (service, revision) pairs that have any history."""
        with self._lock:
            return sorted(self._series)

    def memory_bytes(self) -> int:
        """An estimate of the memory held by stored buckets (not counting the open ones)."""
        with self._lock:
            return sum(
                b.nbytes() + 100  # + the dict entry, its key and the order deque's slot
                for series in self._series.values()
                for buckets in series.buckets
                for b in buckets.values()
            ) + sum(i.nbytes() for series in self._series.values() for i in series.index)

    # -- persistence -----------------------------------------------------------------------

    def snapshot(self, path: str | os.PathLike[str]) -> None:
        """Save all history to ``path`` (atomically replacing it)."""
        with self._lock:
            payload: dict[str, Any] = {
                "tiers": [[t.resolution, t.keep.total_seconds(), t.samples] for t in self._tiers],
                "series": [
                    {
                        "service": service,
                        "revision": revision,
                        "open": None if s.open is None else s.open.seal().to_json(),
                        "tiers": [[b.to_json() for b in buckets.values()] for buckets in s.buckets],
                    }
                    for (service, revision), s in self._series.items()
                ],
            }
        write_snapshot(path, payload)

    def restore(self, path: str | os.PathLike[str]) -> int:
        """Merge the history saved at ``path`` into this store; returns the buckets kept.

        Buckets go to the finest configured tier that can hold them, so a snapshot taken with
        other tiers still restores; history older than the last tier keeps is dropped.
        Raises :class:`~roost.telemetry.persisting.SnapshotError` for an unreadable file.
        """
        data = read_snapshot(path)
        entries: list[tuple[str, str, list[tuple[int, Bucket]]]] = []
        try:
            resolutions = [int(t[0]) for t in data["tiers"]]
            for item in data["series"]:
                buckets = [
                    (res, Bucket.from_json(raw))
                    for res, raws in zip(resolutions, item["tiers"], strict=True)
                    for raw in raws
                ]
                if item["open"] is not None:
                    buckets.append((resolutions[0], Bucket.from_json(item["open"])))
                entries.append((str(item["service"]), str(item["revision"]), buckets))
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"telemetry snapshot {path} is malformed: {exc!r}") from exc
        kept = 0
        now = self._clock.now().timestamp()
        with self._lock:
            for service, revision, buckets in entries:
                series = self._series.get((service, revision))
                if series is None:
                    series = self._series[(service, revision)] = self._new_series()
                for res, bucket in sorted(buckets, key=lambda rb: rb[1].start):
                    kept += self._place(series, bucket, res, now=now)
        return kept

    def __repr__(self) -> str:
        tiers = ", ".join(f"{t.resolution}s for {t.keep}" for t in self._tiers)
        return f"TimeSeriesStore(series={len(self._series)}, tiers=[{tiers}])"
