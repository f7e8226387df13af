"""The bus as Prometheus metrics: per-trigger backlog (a signal to scale on), consumer lag,
the dead-letter queue's depth, deliveries by state, suspended triggers.

``roost_events_trigger_backlog`` = events on the bus the trigger has not taken yet + its
deliveries still pending: everything it still has to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from roost.store import Store
from roost.store.deliveries import DEAD, PENDING, STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Snapshot(Collector):
    def __init__(
        self,
        store: Store,
        triggers: Iterable[str],
        *,
        bus: str,
        lags: Mapping[str, int | None],
        relay_lag: int | None,
    ) -> None:
        self.store = store
        self.triggers = sorted(triggers)
        self.bus = bus
        self.lags = lags
        self.relay_lag = relay_lag

    def collect(self) -> Iterable[Metric]:
        counts = self.store.deliveries.counts()
        suspended = self.store.deliveries.suspended()
        names = sorted(set(self.triggers) | {t for t, _ in counts})
        dlq = GaugeMetricFamily(
            "roost_events_dlq_depth", "Deliveries in the dead-letter queue.", labels=["trigger"]
        )
        states = GaugeMetricFamily(
            "roost_events_deliveries", "Deliveries by state.", labels=["trigger", "state"]
        )
        backlog = GaugeMetricFamily(
            "roost_events_trigger_backlog",
            "Events the trigger has yet to take off the bus plus its pending deliveries.",
            labels=["trigger"],
        )
        lag = GaugeMetricFamily(
            "roost_events_consumer_lag",
            "Events on the bus the trigger's consumer has not acknowledged.",
            labels=["trigger", "bus"],
        )
        paused = GaugeMetricFamily(
            "roost_events_trigger_suspended",
            "1 while a loop guard holds the trigger.",
            labels=["trigger"],
        )
        for name in names:
            dlq.add_metric([name], counts.get((name, DEAD), 0))
            for state in STATES:
                states.add_metric([name, state], counts.get((name, state), 0))
            consumer_lag = self.lags.get(name)
            if consumer_lag is not None:
                lag.add_metric([name, self.bus], consumer_lag)
            backlog.add_metric([name], (consumer_lag or 0) + counts.get((name, PENDING), 0))
            paused.add_metric([name], 1 if name in suspended else 0)
        yield from (dlq, states, backlog, lag, paused)
        if self.relay_lag is not None:
            relay = GaugeMetricFamily(
                "roost_events_relay_lag",
                "Outbox entries not yet relayed to the bus.",
                labels=["bus"],
            )
            relay.add_metric([self.bus], self.relay_lag)
            yield relay


def render(
    store: Store,
    triggers: Iterable[str],
    *,
    bus: str,
    lags: Mapping[str, int | None],
    relay_lag: int | None = None,
) -> bytes:
    """The metrics in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(store, triggers, bus=bus, lags=lags, relay_lag=relay_lag))
    return generate_latest(registry)
