"""Where the engine gets good/total counts from.

:class:`SliSource` is the one question the burn-rate engine asks: "how many events of this SLI
were good, out of how many, over the last ``window``". Two answers ship:

* :class:`MetricsSliSource` adapts any :class:`~roost.telemetry.MetricsSource` (the embedded
  store, the agent's telemetry) and sums a service's revisions;
* ``roost.telemetry.prometheus_source.PrometheusSource`` answers with PromQL ``increase()``
  directly (it has ``sli_counts`` itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from roost.spec.slos import LatencySli, ProbeSli, RatioSli, Sli
from roost.telemetry.counting import CountingSource, bad_class_indexes

if TYPE_CHECKING:
    from roost.telemetry._protocol import MetricsSource


class UnsupportedSli(Exception):
    """This source cannot measure this kind of SLI."""


@runtime_checkable
class SliSource(Protocol):
    """Good and total events of an SLI over a window ending at the source's now."""

    def sli_counts(self, service: str, sli: Sli, *, window: timedelta) -> tuple[float, float]:
        """``(good, total)`` over ``window``; ``(0, 0)`` without traffic. Raises on failure
        (the engine reports the message and goes on with other SLOs)."""
        ...


_BISECTIONS = 16
"""Quantile probes per revision to find the share under a latency bound: 2^-16 resolution in
q, far finer than the store's ~2 % latency resolution."""


class MetricsSliSource:
    """An :class:`SliSource` over a :class:`~roost.telemetry.MetricsSource`.

    ``revisions(service)`` lists the revisions to sum (the SLO is the *service's*, whatever
    revision served a request). The protocol has no "count under a bound", so a latency SLI
    finds the share of requests under its threshold by bisecting ``latency_quantile`` — exact
    to the store's histogram resolution (about 2 %).

    A source that counts windows itself (:class:`~roost.telemetry.counting.CountingSource`,
    the embedded store) is asked directly instead: per-class counts (so ``bad_status`` is
    honoured) and the count under the latency bound, from cumulative sums.
    """

    def __init__(
        self, metrics: MetricsSource, *, revisions: Callable[[str], Sequence[str]]
    ) -> None:
        self._metrics = metrics
        self._revisions = revisions
        self._counting = metrics if isinstance(metrics, CountingSource) else None

    def sli_counts(self, service: str, sli: Sli, *, window: timedelta) -> tuple[float, float]:
        if isinstance(sli, ProbeSli):
            raise UnsupportedSli("probe SLIs need probe results, which this source does not keep")
        if self._counting is not None:
            return self._counted(self._counting, service, sli, window)
        good = total = 0.0
        for revision in self._revisions(service):
            n = self._metrics.request_count(service, revision, window=window)
            if n == 0:
                continue
            total += n
            if isinstance(sli, RatioSli):
                ratio = self._metrics.error_ratio(service, revision, window=window) or 0.0
                good += n * (1.0 - ratio)
            else:
                good += n * self._share_under(service, revision, sli, window)
        return good, total

    def _counted(
        self, source: CountingSource, service: str, sli: RatioSli | LatencySli, window: timedelta
    ) -> tuple[float, float]:
        under = sli.threshold.total_seconds() if isinstance(sli, LatencySli) else None
        bad = bad_class_indexes(sli.bad_status) if isinstance(sli, RatioSli) else ()
        good = total = 0
        for revision in self._revisions(service):
            counts = source.window_counts(service, revision, window=window, under=under)
            total += counts.total
            if under is not None:
                good += counts.under or 0
            else:
                good += counts.total - counts.count(bad)
        return float(good), float(total)

    def _share_under(
        self, service: str, revision: str, sli: LatencySli, window: timedelta
    ) -> float:
        bound = sli.threshold.total_seconds()
        lo, hi = 0.0, 1.0
        q = self._metrics.latency_quantile
        if (q(service, revision, 1.0, window=window) or 0.0) < bound:
            return 1.0
        if (q(service, revision, 0.0, window=window) or 0.0) >= bound:
            return 0.0
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            if (q(service, revision, mid, window=window) or 0.0) < bound:
                lo = mid
            else:
                hi = mid
        return lo

    def __repr__(self) -> str:
        return f"MetricsSliSource({self._metrics!r})"


class CachingSource:
    """Remembers answers for one evaluation round, so SLOs that share an SLI (same service,
    same definition, different objectives) and tiers that share a window ask the backend once."""

    def __init__(self, source: SliSource) -> None:
        self._source = source
        self._cache: dict[tuple[str, Sli, timedelta], tuple[float, float] | Exception] = {}

    def sli_counts(self, service: str, sli: Sli, *, window: timedelta) -> tuple[float, float]:
        key = (service, sli, window)
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = self._source.sli_counts(service, sli, window=window)
            except Exception as exc:  # remembered too: a down Prometheus is asked once a round
                hit = exc
            self._cache[key] = hit
        if isinstance(hit, Exception):
            raise hit
        return hit

    def __repr__(self) -> str:
        return f"CachingSource({self._source!r}, cached={len(self._cache)})"
