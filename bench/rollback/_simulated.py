"""Part 2 of the rollback benchmark: how many rollouts one control plane drives with 1-second
analysis before its decisions lag by more than a second.

The runtime is simulated — the package's in-memory agent
(:mod:`roost.control.dataplane.fake`), whose revisions are always ready and whose metrics are
healthy — so what is measured is the control plane itself: the executor's loop, the analysis,
the decisions and every persisted transition (SQLite state store, real fencing).
The lag is how late each analysis ran after it was due.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from roost.control.dataplane.fake import FakeAgent
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
            agent = FakeAgent()  # every revision ready at once, healthy metrics
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
                dev = agent.in_environment("dev")
                dev.ensure_listener(spec.name)
                dev.start_revision("{}", service=spec.name, revision=stable.id)
                dev.set_weights(spec.name, {stable.id: 100}, fencing_token=None)
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
