"""One time bucket of one (service, revision): counts per status class, a latency histogram and
a bounded reservoir of raw latency samples.

A bucket is *open* while its window is current — plain dict and list, cheap to add to on the
request path — and is *sealed* into compact arrays when time moves past it. Sealed buckets are
what the store keeps for hours and days, so their size is what the memory bound is made of:

* counts: a 5-tuple of ints (small ints are shared by CPython)          ~ 80 B
* histogram: ``array('I')`` of interleaved ``(index, count)`` pairs      64 B + 8 B per used bucket
* samples: ``array('f')`` (float32: 7 significant digits is plenty)    64 B + 4 B per sample
* the object itself, its float sum and the store's dict entry          ~ 250 B

A busy bucket (40 distinct latency buckets, 32 samples) is about 0.9 KB.
"""

from __future__ import annotations

import random
import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from roost.telemetry.classes import CODE_CLASSES
from roost.telemetry.histograms import bucket_index


class OpenBucket:
    """The bucket currently being filled. Not thread-safe on its own: the store locks."""

    __slots__ = ("_cap", "_rng", "counts", "hist", "latency_sum", "samples", "seen", "start")

    def __init__(self, start: int, *, cap: int, rng: random.Random) -> None:
        self.start = start
        self.counts = [0] * len(CODE_CLASSES)
        self.latency_sum = 0.0
        self.hist: dict[int, int] = {}
        self.samples: list[float] = []
        self.seen = 0
        self._cap = cap
        self._rng = rng

    def add(self, cls: int, latency: float) -> None:
        """Count one request of class index ``cls`` that took ``latency`` seconds."""
        self.counts[cls] += 1
        self.latency_sum += latency
        index = bucket_index(latency)
        hist = self.hist
        hist[index] = hist.get(index, 0) + 1
        # Reservoir sampling (Vitter's algorithm R): every request of the window has the same
        # chance to be among the kept samples, however many arrive.
        self.seen += 1
        samples = self.samples
        if len(samples) < self._cap:
            samples.append(latency)
        else:
            slot = int(self._rng.random() * self.seen)
            if slot < self._cap:
                samples[slot] = latency

    @property
    def count(self) -> int:
        """Requests in this bucket."""
        return self.seen

    def hist_pairs(self) -> Iterator[tuple[int, int]]:
        """``(bucket index, count)`` pairs of the latency histogram."""
        return iter(self.hist.items())

    def seal(self) -> Bucket:
        """The compact, immutable form of this bucket."""
        pairs = array("I")
        for index in sorted(self.hist):
            pairs.append(index)
            pairs.append(self.hist[index])
        return Bucket(
            self.start, tuple(self.counts), self.latency_sum, pairs, array("f", self.samples)
        )


class Bucket:
    """A sealed bucket: compact arrays, replaced (never changed) when merged into."""

    __slots__ = ("counts", "hist", "latency_sum", "samples", "start")

    def __init__(
        self,
        start: int,
        counts: tuple[int, ...],
        latency_sum: float,
        hist: array[int],
        samples: array[float],
    ) -> None:
        self.start = start
        self.counts = counts
        self.latency_sum = latency_sum
        self.hist = hist
        self.samples = samples

    @property
    def count(self) -> int:
        """Requests in this bucket."""
        return sum(self.counts)

    def hist_pairs(self) -> Iterator[tuple[int, int]]:
        """``(bucket index, count)`` pairs of the latency histogram."""
        it = iter(self.hist)
        return zip(it, it, strict=True)

    def merged(self, other: Bucket, *, start: int, cap: int, rng: random.Random) -> Bucket:
        """A new bucket starting at ``start`` holding both this one and ``other``.

        Samples are kept whole while they fit in ``cap``; beyond that each side keeps a share
        proportional to the requests it stands for, so a busy second is not drowned out by a
        quiet one when buckets are downsampled.
        """
        hist: dict[int, int] = dict(self.hist_pairs())
        for index, count in other.hist_pairs():
            hist[index] = hist.get(index, 0) + count
        pairs = array("I")
        for index in sorted(hist):
            pairs.append(index)
            pairs.append(hist[index])
        counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        groups = [(self.count, self.samples), (other.count, other.samples)]
        samples = array("f", proportional_sample(groups, cap, rng))
        return Bucket(start, counts, self.latency_sum + other.latency_sum, pairs, samples)

    def nbytes(self) -> int:
        """Approximate memory held by this bucket, in bytes."""
        return (
            sys.getsizeof(self)
            + sys.getsizeof(self.counts)
            + sys.getsizeof(self.latency_sum)
            + sys.getsizeof(self.hist)
            + sys.getsizeof(self.samples)
        )

    def to_json(self) -> list[Any]:
        """A JSON-ready list: ``[start, counts, latency_sum, hist pairs, samples]``."""
        return [
            self.start,
            list(self.counts),
            self.latency_sum,
            self.hist.tolist(),
            # float32 has about 7 significant digits; printing more only bloats the file.
            [float(f"{x:.7g}") for x in self.samples],
        ]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Bucket:
        """The inverse of :meth:`to_json`; raises ``ValueError`` on a malformed entry."""
        start, counts, latency_sum, hist, samples = data
        if len(counts) != len(CODE_CLASSES) or len(hist) % 2:
            raise ValueError(f"malformed bucket at {start!r}")
        return cls(
            int(start),
            tuple(int(c) for c in counts),
            float(latency_sum),
            array("I", (int(x) for x in hist)),
            array("f", (float(x) for x in samples)),
        )

    def __repr__(self) -> str:
        return f"Bucket(start={self.start}, count={self.count}, samples={len(self.samples)})"


def proportional_sample(
    groups: Sequence[tuple[int, Sequence[float]]], limit: int, rng: random.Random
) -> list[float]:
    """At most ``limit`` samples from ``(requests represented, samples)`` groups.

    All samples when they fit; otherwise each group contributes in proportion to the requests
    it represents (a reservoir of 32 standing for 1,000 requests outweighs one of 5 standing
    for 5), then the result is trimmed to ``limit`` at random.
    """
    stored = sum(len(samples) for _, samples in groups)
    if stored <= limit:
        return [x for _, samples in groups for x in samples]
    total = sum(count for count, _ in groups) or 1
    out: list[float] = []
    for count, samples in groups:
        take = min(len(samples), round(limit * count / total))
        out.extend(rng.sample(list(samples), take) if take < len(samples) else samples)
    if len(out) > limit:
        out = rng.sample(out, limit)
    return out
