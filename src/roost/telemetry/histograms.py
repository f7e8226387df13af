"""Log-spaced latency buckets with a bounded relative error (the idea behind HDR histograms).

Bucket ``i >= 1`` holds latencies in ``(MIN_LATENCY * GROWTH**(i-1), MIN_LATENCY * GROWTH**i]``
and bucket 0 everything at or below :data:`MIN_LATENCY`. A quantile is answered with the
geometric middle of its bucket, so it is within ``sqrt(GROWTH) - 1`` (about 2 %) of the exact
sample quantile for latencies above 1 µs, whatever the shape and scale of the distribution — linear
buckets cannot promise that for both a 1 ms cache hit and a 3 s report.

Bucket indices fit in 16 bits (:data:`MAX_INDEX` is about 530), which keeps stored histograms
small: a histogram is a sparse map from index to count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Final

#: Latencies at or below this (1 µs) share bucket 0.
MIN_LATENCY: Final = 1e-6
#: Ratio between the bounds of neighbouring buckets.
GROWTH: Final = 1.04
#: Latencies above ``MIN_LATENCY * GROWTH**MAX_INDEX`` (about 1,000 s) share the last bucket.
MAX_INDEX: Final = math.ceil(math.log(1000.0 / MIN_LATENCY) / math.log(GROWTH))
#: The promised bound on a quantile's relative error.
RELATIVE_ERROR: Final = math.sqrt(GROWTH) - 1

_LOG_MIN: Final = math.log(MIN_LATENCY)
_INV_LOG_GROWTH: Final = 1 / math.log(GROWTH)


def bucket_index(latency: float) -> int:
    """The bucket that ``latency`` (seconds) falls in."""
    if latency <= MIN_LATENCY:
        return 0
    # ceil, not floor: bucket i is closed at its top, (lower, upper].
    index = math.ceil((math.log(latency) - _LOG_MIN) * _INV_LOG_GROWTH)
    return min(max(index, 1), MAX_INDEX)


def bucket_value(index: int) -> float:
    """The value a quantile falling in bucket ``index`` is reported as: its geometric middle."""
    if index <= 0:
        return MIN_LATENCY
    return float(MIN_LATENCY * GROWTH ** (index - 0.5))


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The ``q``-quantile (0 ≤ q ≤ 1) of a histogram given as ``{bucket index: count}``.

    Uses the nearest-rank definition (the smallest value with at least ``q`` of the samples at
    or below it); ``None`` for an empty histogram.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile must be between 0 and 1, got {q}")
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(max(counts))  # unreachable unless counts changed underneath us


def merge_into(target: dict[int, int], pairs: Iterable[tuple[int, int]]) -> None:
    """Add ``(index, count)`` pairs to ``target`` in place."""
    for index, count in pairs:
        target[index] = target.get(index, 0) + count
