"""Part 2 of the rollback benchmark: how many rollouts one control plane drives with 1-second
analysis before its decisions lag by more than a second.

The runtime is simulated — an in-memory agent whose revisions are always ready and whose
metrics are healthy — so what is measured is the control plane itself: the executor's loop,
the analysis, the decisions and every persisted transition (SQLite state store, real fencing).
The lag is how late each analysis ran after it was due.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.control.rollouts.executor import RolloutExecutor
from roost.control.rollouts.reconciling import Reconciler
from roost.control.rollouts.requests import DeployRequest
from roost.control.workspace import open_workspace
from roost.spec import Service

PROJECT = """\
project: sim
version: 1
environments:
  dev: {}
"""


def service(name: str) -> Service:
    return Service.model_validate(
        {
            "name": name,
            "command": "python3 app.py",
            "rollout": {
                "strategy": "canary",
                "steps": [{"set_weight": 10}, {"analysis": {"duration": "1h"}}],
            },
            "analysis": {
                "interval": "1s",
                "checks": [{"metric": "error_ratio", "max": 0.05}],
                "min_samples": 5,
            },
        }
    )


class SimulatedAgent:
    """The agent calls the executor makes, answered from memory: every revision is running and
    ready at once, every revision's metrics are healthy."""

    url = "http://127.0.0.1:1"
    environment: str | None = "dev"

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}

    def in_environment(self, environment: str) -> SimulatedAgent:
        return self  # one environment (dev) only

    def close(self) -> None:
        pass

    def state(self) -> dict[str, Any]:
        return {"services": self.services}

    def ensure_listener(self, service: str, port: int = 0) -> int:
        self.services.setdefault(service, {"weights": {}, "revisions": []})
        return 1

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> dict[str, Any]:
        self._revision(service, revision, 1)
        return self.state()

    def scale(self, service: str, revision: str, replicas: int) -> dict[str, Any]:
        from roost.control.dataplane.agents import AgentRefused

        svc = self.services.get(service, {})
        if not any(r["revision"] == revision for r in svc.get("revisions", [])):
            raise AgentRefused(f"no revision {revision}", status=404)
        self._revision(service, revision, replicas)
        return self.state()

    def stop_revision(self, service: str, revision: str) -> dict[str, Any]:
        svc = self.services[service]
        svc["revisions"] = [r for r in svc["revisions"] if r["revision"] != revision]
        return self.state()

    def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]:
        self.services[service]["weights"] = dict(weights)
        return dict(weights)

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> dict[str, Any]:
        n = int(100 * window)
        return {
            "requests": n,
            "rps": 100.0,
            "error_ratio": 0.0,
            "p50": 0.002,
            "p95": 0.004,
            "p99": 0.006,
            "samples": [0.002] * min(samples, n),
        }

    def _revision(self, service: str, revision: str, replicas: int) -> None:
        svc = self.services.setdefault(service, {"weights": {}, "revisions": []})
        svc["revisions"] = [r for r in svc["revisions"] if r["revision"] != revision]
        svc["revisions"].append(
            {
                "revision": revision,
                "desired_replicas": replicas,
                "replicas": [
                    {
                        "index": i,
                        "state": "Running",
                        "ready": True,
                        "port": 1,
                        "pid": i,
                        "restarts": 0,
                    }
                    for i in range(replicas)
                ],
            }
        )


@dataclass
class SimRow:
    rollouts: int
    analyses: int
    lag_p50: float
    lag_p95: float
    lag_max: float


def run(count: int, *, seconds: float) -> SimRow:
    """Drive ``count`` canary rollouts with 1-second analysis for ``seconds``; the lag."""
    root = Path(tempfile.mkdtemp(prefix="roost-sim-"))
    try:
        (root / "roost.yaml").write_text(PROJECT)
        with open_workspace(root, database_url=f"sqlite:///{root / 'state.db'}") as ws:
            agent = SimulatedAgent()
            executor = RolloutExecutor(ws, agent_dir=root, connect=lambda: agent)
            store = ws.store
            for i in range(count):
                spec = service(f"svc-{i:04d}")
                config = spec.model_dump(mode="json", by_alias=True)
                stable = store.releases.create(
                    spec.name, artifact="sim", config=config, secrets={}, schema_requires="",
                    created_by="bench",
                )  # fmt: skip
                canary = store.releases.create(
                    spec.name, artifact="sim", config=config, secrets={}, schema_requires="",
                    created_by="bench",
                )  # fmt: skip
                agent.ensure_listener(spec.name)
                agent.start_revision("{}", service=spec.name, revision=stable.id)
                agent.set_weights(spec.name, {stable.id: 100}, fencing_token=None)
                request = DeployRequest("deploy", "dev", "bench", ws.clock.now())
                executor.begin(release=canary, stable=stable.id, request=request)
            executor.analysis_lag.clear()
            reconciler = Reconciler(executor).start()
            time.sleep(seconds)
            reconciler.stop()
            lags = sorted(executor.analysis_lag)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not lags:
        return SimRow(count, 0, float("nan"), float("nan"), float("nan"))
    return SimRow(
        rollouts=count,
        analyses=len(lags),
        lag_p50=statistics.median(lags),
        lag_p95=lags[min(len(lags) - 1, int(0.95 * len(lags)))],
        lag_max=lags[-1],
    )
