"""Reading the agent's state for a rollout: ready-and-warm replicas, crash loops, the stable
revision; and the metrics source over the agent's summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roost.clock import VirtualClock
from roost.control.dataplane.metrics import AgentMetricsSource
from roost.control.rollouts.observing import current_revision, observe_canary
from roost.control.rollouts.warming import Warmer
from roost.spec import Service

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
SERVICE = Service.model_validate({"name": "web", "command": "python3 app.py"})


def _view(*replicas: dict[str, Any], weights: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "services": {
            "web": {
                "weights": weights or {"web-r1": 100, "web-r2": 0},
                "revisions": [
                    {
                        "revision": "web-r2",
                        "desired_replicas": len(replicas),
                        "replicas": list(replicas),
                    }
                ],
            }
        }
    }


def _replica(
    index: int, state: str = "Running", *, ready: bool = True, restarts: int = 0
) -> dict[str, Any]:
    return {
        "index": index,
        "state": state,
        "ready": ready,
        "port": 9000 + index,
        "pid": 100 + index,
        "restarts": restarts,
    }


def test_ready_replicas_count_without_a_warm_up() -> None:
    view = _view(_replica(0), _replica(1, ready=False), _replica(2, "Starting", ready=False))
    seen = observe_canary(
        view, SERVICE, "web-r2", host="127.0.0.1", warmer=Warmer(clock=VirtualClock(NOW)), now=NOW
    )
    assert (seen.running, seen.desired, seen.warm, seen.failure) == (True, 3, 1, None)


def test_a_crash_looping_replica_is_a_failure_and_an_absent_revision_is_not_running() -> None:
    view = _view(_replica(0), _replica(1, "CrashLoopBackOff", ready=False, restarts=3))
    seen = observe_canary(
        view, SERVICE, "web-r2", host="127.0.0.1", warmer=Warmer(clock=VirtualClock(NOW)), now=NOW
    )
    assert seen.failure is not None
    assert "replica #1 of web-r2 is CrashLoopBackOff after 3 restart(s)" in seen.failure
    missing = observe_canary(
        view, SERVICE, "web-r9", host="127.0.0.1", warmer=Warmer(clock=VirtualClock(NOW)), now=NOW
    )
    assert not missing.running


def test_the_stable_revision_is_the_one_with_most_traffic() -> None:
    assert current_revision(_view(weights={"web-r1": 80, "web-r2": 20}), "web") == "web-r1"
    assert current_revision(_view(weights={"web-r1": 0}), "web") is None
    assert current_revision({"services": {}}, "web") is None


class _Agent:
    def __init__(self) -> None:
        self.calls = 0

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> dict[str, Any]:
        self.calls += 1
        return {
            "requests": 4,
            "rps": 2.0,
            "error_ratio": 0.25,
            "p50": 0.01,
            "p95": 0.02,
            "p99": 0.03,
            "samples": [0.04, 0.01, 0.03, 0.02][:samples],
        }


def test_the_metrics_source_asks_the_agent_once_per_revision_and_window() -> None:
    agent = _Agent()
    source = AgentMetricsSource(agent)
    window = timedelta(seconds=10)
    assert source.request_count("web", "web-r2", window=window) == 4
    assert source.error_ratio("web", "web-r2", window=window) == 0.25
    assert source.latency_quantile("web", "web-r2", 0.99, window=window) == 0.03
    assert source.latency_quantile("web", "web-r2", 0.75, window=window) == 0.03  # from samples
    assert source.latency_samples("web", "web-r2", window=window, limit=2) == [0.04, 0.01]
    assert agent.calls == 1
    assert source.request_rate("web", "web-r1", window=window) == 2.0
    assert agent.calls == 2


def test_a_page_on_the_canary_is_a_failure_found_by_the_slo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime

    from roost.control.rollouts import observing
    from roost.control.rollouts.observing import CanaryView, with_page_check

    canary = CanaryView(running=True, desired=1, warm=1, failure=None)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    monkeypatch.setattr(observing, "page_check", lambda *a, **k: "SLO page alert: x")
    paged = with_page_check(canary, object(), object(), "web-r2", now=now)  # type: ignore[arg-type]
    assert (paged.failure, paged.failure_by) == ("SLO page alert: x", "slo")
    assert canary.failure_by == "runtime"  # a crash loop or a failed warm-up
