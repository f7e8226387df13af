"""The one call the proxy makes per request."""

from __future__ import annotations

from roost.clock import Clock, RealClock
from roost.telemetry.prometheus import PrometheusMetrics
from roost.telemetry.timeseries import TimeSeriesStore


class Recorder:
    """Records every proxied request into Prometheus metrics and the embedded store.

    :meth:`observe` does no I/O and allocates little: it runs on the proxy's hot path. It is
    meant to be called from one thread (the proxy's event loop); reading — queries,
    :meth:`render_metrics` — is safe from any thread.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        store: TimeSeriesStore | None = None,
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        self._clock: Clock = clock if clock is not None else RealClock()
        self.store = store if store is not None else TimeSeriesStore(clock=self._clock)
        self.metrics = metrics if metrics is not None else PrometheusMetrics()

    def observe(
        self,
        service: str,
        revision: str,
        status: int,
        latency_seconds: float,
        *,
        at: float | None = None,
    ) -> None:
        """Record one request.

        ``status`` is the response status, or :data:`~roost.telemetry.NO_RESPONSE` when the
        backend never answered (counted as ``error``). ``latency_seconds`` runs from the
        request's first byte received to the response's last byte sent. ``at`` is the POSIX
        time it finished (default: the clock's now).
        """
        self.metrics.observe(service, revision, status, latency_seconds)
        self.store.add(service, revision, status, latency_seconds, at=at)

    def known(self, service: str, revision: str) -> None:
        """A revision now exists: export its counters at zero before its first request."""
        self.metrics.known(service, revision)

    def forget(self, service: str, revision: str) -> None:
        """Stop exporting a removed revision to Prometheus (its history stays in the store)."""
        self.metrics.forget(service, revision)

    def render_metrics(self) -> bytes:
        """Prometheus text format 0.0.4 for ``/metrics``."""
        return self.metrics.render()

    def __repr__(self) -> str:
        return f"Recorder(store={self.store!r})"
