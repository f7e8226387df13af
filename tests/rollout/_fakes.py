"""Test doubles for rollout logic: a dict-backed MetricsSource and a tiny executor loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from roost.clock import VirtualClock
from roost.rollout import (
    Decision,
    HumanCommand,
    Observation,
    RolloutState,
    analyse,
    analysis_due,
    decide,
    start_rollout,
)
from roost.spec import Service

T0 = datetime.fromisoformat("2026-03-02T10:00:00+00:00")


@dataclass
class Traffic:
    """Per-request samples of one revision: latencies (seconds) and how many failed."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0


class FakeMetrics:
    """A MetricsSource over fixed samples per revision; the window only scales the rate.

    Tests set what each revision "served in the last interval" and change it as time goes on.
    """

    def __init__(self) -> None:
        self.traffic: dict[str, Traffic] = {}
        self.queries: list[tuple[str, str, timedelta]] = []

    def serve(self, revision: str, latencies: list[float], *, errors: int = 0) -> None:
        self.traffic[revision] = Traffic(list(latencies), errors)

    def healthy(self, revision: str, n: int = 400, *, seed: int = 1, ms: float = 100) -> None:
        rng = np.random.default_rng(seed)
        self.serve(revision, list(rng.normal(ms / 1000, 0.01, n).clip(0.001)))

    def _get(self, revision: str) -> Traffic:
        return self.traffic.get(revision, Traffic())

    def request_rate(self, service: str, revision: str, *, window: timedelta) -> float:
        self.queries.append(("rate", revision, window))
        return len(self._get(revision).latencies) / window.total_seconds()

    def request_count(self, service: str, revision: str, *, window: timedelta) -> int:
        self.queries.append(("count", revision, window))
        return len(self._get(revision).latencies)

    def error_ratio(self, service: str, revision: str, *, window: timedelta) -> float | None:
        t = self._get(revision)
        return t.errors / len(t.latencies) if t.latencies else None

    def latency_quantile(
        self, service: str, revision: str, q: float, *, window: timedelta
    ) -> float | None:
        t = self._get(revision)
        return float(np.quantile(t.latencies, q)) if t.latencies else None

    def latency_samples(
        self, service: str, revision: str, *, window: timedelta, limit: int = 1000
    ) -> list[float]:
        return self._get(revision).latencies[:limit]


def make_service(**fields: Any) -> Service:
    """A service called ``shop`` with ``fields`` as in roost.yaml (``rollout``, ``analysis``…)."""
    data: dict[str, Any] = {"name": "shop", "command": ["./shop"], "replicas": 4}
    data.update(fields)
    return Service.model_validate(data)


ANALYSIS = {
    "interval": "1m",
    "checks": [{"metric": "error_ratio", "max": 0.01}],
    "min_samples": 50,
    "inconclusive_limit": 3,
    "consecutive_failure_limit": 2,
}


class Loop:
    """What the control-layer executor does, minus the I/O: decide, wait, analyse, repeat.

    ``warm`` says how many replicas of the new revision are warm for a given state (default:
    all the rollout asked for, at once).
    """

    def __init__(
        self,
        service: Service,
        *,
        metrics: FakeMetrics | None = None,
        stable: str | None = "shop-r1",
        canary: str = "shop-r2",
        clock: VirtualClock | None = None,
        warm: Callable[[RolloutState], int] | None = None,
        fast: bool = False,
    ) -> None:
        self.service = service
        self.metrics = metrics or FakeMetrics()
        self.clock = clock or VirtualClock(T0)
        self.warm = warm or (lambda state: state.canary_replicas)
        self.decision = start_rollout(
            service,
            environment="production",
            canary=canary,
            stable=stable,
            now=self.clock.now(),
            fast=fast,
        )
        self.decisions: list[Decision] = [self.decision]
        self.reported_warm = 0

    @property
    def state(self) -> RolloutState:
        return self.decision.state

    def tick(self, command: HumanCommand | None = None) -> Decision:
        now = self.clock.now()
        request = analysis_due(self.state, self.service, now=now)
        verdict = None if request is None else analyse(self.metrics, request, now=now)
        self.reported_warm = self.warm(self.state)
        observation = Observation(
            verdict=verdict, warm_replicas=self.reported_warm, command=command
        )
        self.decision = decide(self.state, self.service, observation, now=now)
        self.decisions.append(self.decision)
        return self.decision

    def run(self, *, max_ticks: int = 500, until: datetime | None = None) -> Decision:
        """Tick through waits until the rollout ends, pauses for a human, or ``until``."""
        for _ in range(max_ticks):
            if self.state.ended or self.state.pause is not None:
                return self.decision
            wait = self.decision.wait
            assert wait is not None
            if self.warm(self.state) != self.reported_warm:
                self.tick()  # an observation changed: decide again right away, as the executor does
                continue
            if wait.until is None:
                return self.decision
            target = wait.until if until is None else min(wait.until, until)
            if until is not None and self.clock.now() >= until:
                return self.decision
            ahead = (target - self.clock.now()).total_seconds()
            if ahead > 0:
                self.clock.advance(ahead)
            self.tick()
        raise AssertionError(f"rollout did not settle: {self.state!r}")

    def actions(self) -> list[Any]:
        return [action for decision in self.decisions for action in decision.actions]

    def timeline(self) -> list[str]:
        return [a.entry for a in self.actions() if type(a).__name__ == "RecordTimeline"]
