"""An agent in memory, shipped with the package: every revision it starts is running and ready
at once, and every revision's metrics are what :attr:`FakeAgent.health` says (healthy by
default).

It answers the :class:`~roost.control.dataplane.protocol.AgentApi` calls the control plane makes,
so the deploy path, the executor and the rollback path run against it without a process: fast
unit tests of the guards' order and of "a refused deploy leaves nothing behind", and the
simulated part of ``bench/rollback``. It records every call that changes something
(:attr:`FakeAgent.calls`), so a test can assert that a refused deploy never reached the agent.
State is visible through ``__repr__``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roost.control.dataplane.agents import AgentRefused
from roost.control.dataplane.protocol import RevisionMetrics


@dataclass
class RevisionHealth:
    """What a fake revision's traffic looks like: ``rps`` requests a second, ``error_ratio`` of
    them failing, every latency ``latency`` seconds."""

    rps: float = 100.0
    error_ratio: float = 0.0
    latency: float = 0.004


@dataclass
class FakeAgent:
    """The agent calls of the control plane, answered from memory (see the module doc).

    One instance keeps its state across connections: pass ``lambda: agent`` as the executor's
    ``connect``; :meth:`close` does nothing.
    """

    url: str = "http://127.0.0.1:1"
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    previews: dict[str, str] = field(default_factory=dict)
    health: dict[str, RevisionHealth] = field(default_factory=dict)
    """Per revision; a revision not named here is healthy."""
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(call, service) of every call that changed something, in order."""

    def close(self) -> None:
        pass

    def state(self) -> dict[str, Any]:
        # A copy, as the real agent's JSON is: callers compare a state before and after a call.
        return {"services": copy.deepcopy(self.services)}

    def ensure_listener(self, service: str, port: int = 0) -> int:
        self._service(service)
        return port or 1

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> object:
        self.calls.append(("start_revision", service))
        self._revision(service, revision, 1)
        return self.state()

    def scale(self, service: str, revision: str, replicas: int) -> object:
        svc = self.services.get(service, {})
        if not any(r["revision"] == revision for r in svc.get("revisions", [])):
            raise AgentRefused(f"no revision {revision}", status=404)
        self.calls.append(("scale", service))
        self._revision(service, revision, replicas)
        return self.state()

    def stop_revision(self, service: str, revision: str) -> object:
        self.calls.append(("stop_revision", service))
        svc = self._service(service)
        svc["revisions"] = [r for r in svc["revisions"] if r["revision"] != revision]
        return self.state()

    def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]:
        running = {r["revision"] for r in self._service(service)["revisions"]}
        missing = sorted(r for r, w in weights.items() if r not in running)
        if missing:
            raise AgentRefused(f"no revision {missing[0]}", status=404)
        self.calls.append(("set_weights", service))
        self.services[service]["weights"] = dict(weights)
        return dict(weights)

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> RevisionMetrics:
        health = self.health.get(revision, RevisionHealth())
        n = int(health.rps * window)
        return {
            "requests": n,
            "rps": health.rps,
            "error_ratio": health.error_ratio if n else None,
            "p50": health.latency,
            "p95": health.latency,
            "p99": health.latency,
            "samples": [health.latency] * min(samples, n),
        }

    def open_preview(self, service: str, revision: str, port: int = 0) -> str:
        self.calls.append(("open_preview", service))
        url = f"http://127.0.0.1:{port or 2}"
        self.previews[service] = revision
        return url

    def close_preview(self, service: str) -> bool:
        self.calls.append(("close_preview", service))
        return self.previews.pop(service, None) is not None

    def query_logs(self, sql: str) -> dict[str, Any]:
        """No replica writes logs here: every query answers an empty table."""
        return {"columns": [], "rows": []}

    def _service(self, service: str) -> dict[str, Any]:
        return self.services.setdefault(service, {"weights": {}, "revisions": []})

    def _revision(self, service: str, revision: str, replicas: int) -> None:
        svc = self._service(service)
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

    def __repr__(self) -> str:
        shown = {name: svc.get("weights", {}) for name, svc in self.services.items()}
        return f"FakeAgent({shown}, calls={len(self.calls)})"
