"""Rollout analysis reads the agent's telemetry: a :class:`~roost.telemetry.MetricsSource` over
the agent API.

One analysis asks the same revision for its request count, error ratio, quantiles and samples
within a few milliseconds; each (service, revision, window) is fetched from the agent once per
:class:`AgentMetricsSource` (one summary call that also carries the samples) and answered from
that snapshot, so the numbers of one verdict are consistent with each other and the agent is
called twice per analysis, not a dozen times. Make a new source for every analysis.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal, Protocol

from roost.control.dataplane.protocol import RevisionMetrics

SAMPLE_LIMIT = 10_000
"""The most latency samples the agent hands out per call (its API's bound)."""

_QUANTILE_KEYS: dict[float, Literal["p50", "p95", "p99"]] = {0.5: "p50", 0.95: "p95", 0.99: "p99"}


class MetricsCaller(Protocol):
    """The one call of :class:`~roost.control.dataplane.agents.AgentClient` this module needs."""

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> RevisionMetrics: ...


class AgentMetricsSource:
    """Answers :class:`~roost.telemetry.MetricsSource` from the agent's per-revision summary.

    ``samples`` is how many latency samples to fetch with each summary (the rank test's
    appetite); quantiles other than p50/p95/p99 are computed from those samples.
    """

    def __init__(self, agent: MetricsCaller, *, samples: int = 1000) -> None:
        self._agent = agent
        self._samples = max(0, min(samples, SAMPLE_LIMIT))
        self._cache: dict[tuple[str, str, float], RevisionMetrics] = {}

    def _summary(self, service: str, revision: str, window: timedelta) -> RevisionMetrics:
        key = (service, revision, window.total_seconds())
        if key not in self._cache:
            self._cache[key] = self._agent.metrics(
                service, revision, window=window.total_seconds(), samples=self._samples
            )
        return self._cache[key]

    def request_rate(self, service: str, revision: str, *, window: timedelta) -> float:
        return float(self._summary(service, revision, window).get("rps") or 0.0)

    def request_count(self, service: str, revision: str, *, window: timedelta) -> int:
        return int(self._summary(service, revision, window).get("requests") or 0)

    def error_ratio(self, service: str, revision: str, *, window: timedelta) -> float | None:
        value = self._summary(service, revision, window).get("error_ratio")
        return None if value is None else float(value)

    def latency_quantile(
        self, service: str, revision: str, q: float, *, window: timedelta
    ) -> float | None:
        summary = self._summary(service, revision, window)
        key = _QUANTILE_KEYS.get(q)
        if key is not None and key in summary:
            value = summary[key]
            return None if value is None else float(value)
        samples = sorted(float(s) for s in summary.get("samples") or [])
        if not samples:
            return None
        # Nearest rank: the smallest sample with at least q of the samples at or below it.
        rank = max(1, math.ceil(q * len(samples)))
        return samples[rank - 1]

    def latency_samples(
        self, service: str, revision: str, *, window: timedelta, limit: int = 1000
    ) -> list[float]:
        if limit > self._samples:
            # More than the snapshot holds: ask once more for this revision, with the bigger limit.
            self._samples = min(limit, SAMPLE_LIMIT)
            self._cache.pop((service, revision, window.total_seconds()), None)
        samples = self._summary(service, revision, window).get("samples") or []
        return [float(s) for s in samples[:limit]]

    def __repr__(self) -> str:
        return f"AgentMetricsSource({self._agent!r}, cached={len(self._cache)})"
