"""Cumulative counts over one tier's buckets, so that "requests per class in a window" is two
binary searches and a subtraction instead of a walk over every bucket in it.

The SLO engine asks for windows of days over a week of one-minute buckets, for every SLO every
few seconds: walking 10,080 buckets per question is what made 10,000 SLOs take minutes. Each
tier of each series keeps, next to its buckets, the bucket starts in order and a running total
per status class (``array('q')``: 8 bytes per bucket per class). The index follows the store's
writes incrementally in the common cases — a new bucket after the last one, the last bucket
growing (a finer tier folding into it), the oldest one ageing out — and is rebuilt from the
buckets on the next read after anything else (a late observation landing in the middle, a
restore).

Counts under a latency bound use the same idea, per bound: a running total of the requests
faster than it, extended lazily up to the newest bucket a question reaches (an SLO has one
bound, so there are few of them).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Mapping

from roost.telemetry.buckets import Bucket
from roost.telemetry.classes import CODE_CLASSES

_COMPACT_AFTER = 4096
"""Aged-out entries kept at the front before the arrays are sliced (amortised O(1))."""


def count_under(bucket: Bucket, limit: int) -> int:
    """Requests of ``bucket`` in histogram buckets below ``limit``."""
    hist = bucket.hist  # (index, count) pairs, by index
    total = 0
    for k in range(0, len(hist), 2):
        if hist[k] >= limit:
            break
        total += hist[k + 1]
    return total


class PrefixIndex:
    """The cumulative counts of one tier of one series. Not thread-safe: the store locks."""

    __slots__ = ("_cum", "_dirty", "_first", "_starts", "_under")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._starts = array("q")
        # _cum[c][k] is the class-c total of the buckets before position k (so len = n + 1).
        self._cum = [array("q", [0]) for _ in CODE_CLASSES]
        self._first = 0  # positions before this aged out
        self._under: dict[int, array[int]] = {}
        self._dirty = False

    # -- following the store's writes -----------------------------------------------------------

    def added(self, bucket: Bucket, *, replaced: bool) -> None:
        """``bucket`` was put at its start, new or replacing (merged into) the one there."""
        if self._dirty:
            return
        starts = self._starts
        last = starts[-1] if len(starts) > self._first else None
        if not replaced and (last is None or bucket.start > last):
            starts.append(bucket.start)
            for col, n in zip(self._cum, bucket.counts, strict=True):
                col.append(col[-1] + n)
        elif replaced and bucket.start == last:
            for col, n in zip(self._cum, bucket.counts, strict=True):
                col[-1] = col[-2] + n
            for under in self._under.values():
                if len(under) > len(starts):
                    under.pop()  # the last bucket changed: extend again when asked
        else:
            self._dirty = True

    def removed(self, start: int) -> None:
        """The bucket at ``start`` aged out of the tier."""
        if self._dirty:
            return
        if self._first < len(self._starts) and self._starts[self._first] == start:
            self._first += 1
            if self._first == len(self._starts):
                self._reset()  # all aged out
            elif self._first >= _COMPACT_AFTER and 2 * self._first >= len(self._starts):
                self._compact()
        else:
            self._dirty = True

    def _compact(self) -> None:
        cut = self._first
        self._starts = self._starts[cut:]
        self._cum = [col[cut:] for col in self._cum]
        self._under = {k: v[cut:] for k, v in self._under.items() if len(v) > cut}
        self._first = 0

    def _rebuild(self, buckets: Mapping[int, Bucket]) -> None:
        self._reset()
        for start in sorted(buckets):
            self.added(buckets[start], replaced=False)

    # -- reading --------------------------------------------------------------------------------

    def counts(
        self,
        buckets: Mapping[int, Bucket],
        lo: int,
        hi: int,
        *,
        limit: int | None = None,
    ) -> tuple[list[int], int]:
        """Per-class totals of the buckets starting in ``[lo, hi]``, and (with ``limit``) the
        requests in histogram buckets below it (else 0)."""
        if self._dirty:
            self._rebuild(buckets)
        starts = self._starts
        i = bisect_left(starts, lo, self._first)
        j = bisect_right(starts, hi, self._first)
        if j <= i:
            return [0] * len(CODE_CLASSES), 0
        classes = [col[j] - col[i] for col in self._cum]
        if limit is None:
            return classes, 0
        under = self._under.get(limit)
        if under is None or len(under) <= self._first:
            # Positions before _first aged out; start the running total at the first one kept.
            under = self._under[limit] = array("q", [0] * (self._first + 1))
        if len(under) <= j:
            # The first question for this bound pays for the buckets not summed yet, once.
            acc = under[-1]
            added = array("q")
            for start in starts[len(under) - 1 : j]:
                acc += count_under(buckets[start], limit)
                added.append(acc)
            under.extend(added)
        return classes, under[j] - under[i]

    def nbytes(self) -> int:
        """Memory held by the arrays."""
        if len(self._starts) <= self._first:
            return 0
        arrays = [self._starts, *self._cum, *self._under.values()]
        return sum(a.buffer_info()[1] * a.itemsize + 64 for a in arrays)

    def __repr__(self) -> str:
        state = "dirty" if self._dirty else "current"
        return f"PrefixIndex(buckets={len(self._starts) - self._first}, {state})"
