from __future__ import annotations

from datetime import timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class MetricsSource(Protocol):
    """Where rollout analysis reads a revision's request metrics from.

    One module per backend: :class:`~roost.telemetry.TimeSeriesStore` is the embedded one (fed
    by the built-in proxy); a Prometheus-backed one answers the same questions with PromQL.
    Windows end at the source's idea of now; "no data" is ``None`` (or ``0`` / ``[]`` for
    counts and samples), never a made-up value, so analysis can call it *inconclusive*.
    """

    def request_rate(self, service: str, revision: str, *, window: timedelta) -> float:
        """Requests per second over ``window``."""
        ...

    def request_count(self, service: str, revision: str, *, window: timedelta) -> int:
        """Requests completed within ``window``."""
        ...

    def error_ratio(self, service: str, revision: str, *, window: timedelta) -> float | None:
        """(5xx + no response) / all requests within ``window``; ``None`` without requests."""
        ...

    def latency_quantile(
        self, service: str, revision: str, q: float, *, window: timedelta
    ) -> float | None:
        """The ``q``-quantile (0..1) of latency in seconds; ``None`` without requests."""
        ...

    def latency_samples(
        self, service: str, revision: str, *, window: timedelta, limit: int = 1000
    ) -> list[float]:
        """Up to ``limit`` individual latencies (seconds) from ``window``, for rank tests."""
        ...
