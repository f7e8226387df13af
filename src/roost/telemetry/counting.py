"""Counts over a window, the SLO engine's question: requests per status class and how many were
faster than a latency bound.

The rollout analysis asks for ratios and quantiles; an SLO asks "how many events were good, out
of how many", which is a sum — so the store can answer it from cumulative counts (two lookups
per tier, see :mod:`roost.telemetry.prefix`) instead of walking every bucket of a week.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

from roost.telemetry.classes import CODE_CLASSES
from roost.telemetry.histograms import MAX_INDEX, bucket_index, bucket_value


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Requests in a window per status class (in :data:`CODE_CLASSES` order) and, when a
    latency bound was asked for, how many of them were faster than it (``under``)."""

    classes: tuple[int, ...] = (0,) * len(CODE_CLASSES)
    under: int | None = None

    @property
    def total(self) -> int:
        """All requests."""
        return sum(self.classes)

    def count(self, indexes: Iterable[int]) -> int:
        """Requests in the classes at ``indexes``."""
        return sum(self.classes[i] for i in indexes)

    def __add__(self, other: WindowCounts) -> WindowCounts:
        under = None if self.under is None and other.under is None else 0
        if under is not None:
            under = (self.under or 0) + (other.under or 0)
        return WindowCounts(
            tuple(a + b for a, b in zip(self.classes, other.classes, strict=True)), under
        )


@runtime_checkable
class CountingSource(Protocol):
    """A metrics source that counts windows directly (the embedded store does)."""

    def window_counts(
        self, service: str, revision: str, *, window: timedelta, under: float | None = None
    ) -> WindowCounts:
        """Requests of ``service``/``revision`` within ``window`` per class; with ``under`` (in
        seconds) also how many were faster than that."""
        ...


def under_limit(bound: float) -> int:
    """The first histogram bucket that does *not* count as faster than ``bound`` seconds.

    A request counts as under the bound when its bucket's reported value (the geometric middle,
    what a quantile would say) is below it — the same answer, within the histogram's ~2 %, as
    bisecting quantiles for the share under the bound, without the bisection.
    """
    index = max(0, bucket_index(bound) - 1)
    while index <= MAX_INDEX and bucket_value(index) < bound:
        index += 1
    return index


def bad_class_indexes(bad_status: str) -> tuple[int, ...]:
    """The class indexes a ratio SLI's ``bad_status`` range (``"500-599"``) covers.

    The store keeps status *classes*, so a range must cover whole classes (``ValueError``
    otherwise); requests without any response (``error``) are bad whenever 5xx are.
    """
    lo_text, _, hi_text = bad_status.partition("-")
    lo, hi = int(lo_text), int(hi_text or lo_text)
    found = []
    for digit in range(2, 6):
        first, last = digit * 100, digit * 100 + 99
        if lo <= first and last <= hi:
            found.append(digit - 2)
        elif lo <= last and first <= hi:
            raise ValueError(
                f"bad_status {bad_status} splits the {digit}xx class; metrics only count "
                "whole classes (use e.g. 500-599)"
            )
    if CODE_CLASSES.index("5xx") in found:
        found.append(CODE_CLASSES.index("error"))
    return tuple(found)
