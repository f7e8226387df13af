"""Shared helpers: SLOs and an embedded store on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roost.clock.virtual import VirtualClock
from roost.slo import MetricsSliSource
from roost.spec.slos import Slo
from roost.telemetry import TimeSeriesStore

START = datetime(2025, 3, 1, tzinfo=UTC)


def ratio_slo(objective: float = 99.9, window: str = "30d", name: str = "availability") -> Slo:
    return Slo.model_validate(
        {"name": name, "objective": objective, "window": window, "sli": {"kind": "ratio"}}
    )


def latency_slo(threshold: str = "100ms", objective: float = 99.0) -> Slo:
    return Slo.model_validate(
        {
            "name": "latency",
            "objective": objective,
            "window": "7d",
            "sli": {"kind": "latency", "threshold": threshold},
        }
    )


def store_source(clock: VirtualClock) -> tuple[TimeSeriesStore, MetricsSliSource]:
    store = TimeSeriesStore(clock=clock, seed=1)

    def revisions(service: str) -> list[str]:
        return [rev for svc, rev in store.series() if svc == service]

    return store, MetricsSliSource(store, revisions=revisions)


def run(
    store: TimeSeriesStore,
    clock: VirtualClock,
    seconds: int,
    *,
    rps: int,
    status: int,
    revision: str = "v1",
    latency: float = 0.01,
) -> None:
    """``seconds`` of traffic at ``rps`` requests per second, advancing the clock."""
    for _ in range(seconds):
        t = clock.now().timestamp()
        for i in range(rps):
            store.add("web", revision, status, latency, at=t + i / (rps + 1))
        clock.advance(1)


def at(clock: VirtualClock) -> datetime:
    return clock.now()


__all__ = ["START", "at", "latency_slo", "ratio_slo", "run", "store_source", "timedelta"]
