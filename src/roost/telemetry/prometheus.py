"""Prometheus exposition of the proxy's request metrics.

The metrics live in a registry of their own, not prometheus-client's global one, so two
recorders in one process (tests, or an agent embedding a second proxy) never collide, and
nothing else that happens to be imported adds series to roost's ``/metrics``.

Counting is done here in plain integers and turned into metric families only when scraped (a
custom collector): prometheus-client's own ``Counter``/``Histogram`` take a lock and walk the
buckets in Python on every request, which on the proxy's hot path cost more than the rest of
the bookkeeping together. Counters are cumulative since the recorder was created; a restart
resets them, which Prometheus' ``rate()`` handles.

Every status class of a known revision is exported from the start, at zero (:meth:`known` is
called when a revision starts or is adopted): ``increase()`` and ``rate()`` only count what
happens *after* a series' first sample, so a class that first appeared with its first request
would lose that request. The status is labelled ``code`` (the label name Prometheus'
instrumentation conventions and client libraries use, so ``code=~"5.."`` selectors and
``sum by (code)`` dashboards work) and, as before, ``code_class``; both hold the class (``2xx`` …
``5xx``, ``error`` for no response). roost counts classes, not single statuses: that is what
keeps the series few enough to start them all at zero.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from roost.telemetry.classes import CODE_CLASSES, class_index

#: The text exposition format ``render`` produces (what Prometheus expects to scrape).
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

#: Latency buckets for HTTP services, 1 ms … 10 s (seconds). Kept deliberately few: every bucket
#: is a time series per revision in the scraping Prometheus.
DURATION_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_LE: Final = [*(f"{b:g}" for b in DURATION_BUCKETS), "+Inf"]


class _Counts:
    __slots__ = ("buckets", "classes", "total_latency")

    def __init__(self) -> None:
        self.classes = [0] * len(CODE_CLASSES)
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # the last one is +Inf
        self.total_latency = 0.0


class PrometheusMetrics:
    """``roost_requests_total`` and ``roost_request_duration_seconds`` in a private registry.

    :meth:`observe` is meant for one thread (the proxy's event loop); :meth:`render` may run
    in any thread — a scrape racing a request sees it or not, never a torn count.
    """

    def __init__(self, *, environment: str | None = None) -> None:
        # ``environment``: a label on every series, so that one scrape of an agent that runs
        # several environments tells their traffic apart (see :func:`render_all`).
        self.environment = environment
        self._series: dict[tuple[str, str], _Counts] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def known(self, service: str, revision: str) -> None:
        """Export ``revision``'s series (every status class at zero) before its first request."""
        if (service, revision) not in self._series:
            self._series[(service, revision)] = _Counts()

    def observe(self, service: str, revision: str, status: int, latency: float) -> None:
        """Count one request with ``status`` that took ``latency`` seconds."""
        counts = self._series.get((service, revision))
        if counts is None:
            counts = self._series[(service, revision)] = _Counts()
        counts.classes[class_index(status)] += 1
        # bisect_left: a latency equal to a bound belongs to that bucket (le = "≤").
        counts.buckets[bisect.bisect_left(DURATION_BUCKETS, latency)] += 1
        counts.total_latency += latency

    def forget(self, service: str, revision: str) -> None:
        """Stop exporting a revision's series (it is gone; keeping it only grows scrapes)."""
        self._series.pop((service, revision), None)

    def collect(self) -> Iterator[Metric]:
        """The metric families, for prometheus-client's registry."""
        return _families([self])

    def render(self) -> bytes:
        """The registry in Prometheus text format 0.0.4 (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class _Merged:
    def __init__(self, sources: list[PrometheusMetrics]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        return _families(self.sources)


def render_all(sources: Iterable[PrometheusMetrics]) -> bytes:
    """Several recorders' series in one exposition (one family per metric name, as the format
    requires): an agent's environments, each labelled with its ``environment``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(list(sources)))
    return generate_latest(registry)


def _families(sources: list[PrometheusMetrics]) -> Iterator[Metric]:
    scoped = any(source.environment is not None for source in sources)
    first: tuple[str, ...] = ("environment",) if scoped else ()
    requests = CounterMetricFamily(
        "roost_requests",
        "Requests proxied, by service, revision and status class (code and code_class: 2xx to "
        "5xx, error for no response).",
        labels=(*first, "service", "revision", "code", "code_class"),
    )
    duration = HistogramMetricFamily(
        "roost_request_duration_seconds",
        "Time from a request's first byte received to its response's last byte sent.",
        labels=(*first, "service", "revision"),
    )
    for source in sources:
        scope = [source.environment or ""] if scoped else []
        for (service, revision), counts in sorted(source._series.items()):
            # Zeros included: see the module docstring.
            for name, value in zip(CODE_CLASSES, list(counts.classes), strict=True):
                requests.add_metric([*scope, service, revision, name, name], value)
            cumulative = 0
            buckets = []
            for le, value in zip(_LE, list(counts.buckets), strict=True):
                cumulative += value
                buckets.append((le, cumulative))
            duration.add_metric([*scope, service, revision], buckets, counts.total_latency)
    yield requests
    yield duration
