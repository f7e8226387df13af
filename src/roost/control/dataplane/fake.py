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
class FakeWorld:
    """What a fake agent and its per-environment views share: every environment's services,
    the open previews, the revisions' health and the record of calls."""

    environments: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    previews: dict[tuple[str, str], str] = field(default_factory=dict)
    health: dict[str, RevisionHealth] = field(default_factory=dict)
    """Per revision; a revision not named here is healthy."""
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(call, service) of every call that changed something, in order."""
    identities: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """The last workload token delivered per (environment, service, revision)."""


class FakeAgent:
    """The agent calls of the control plane, answered from memory (see the module doc).

    Like the real client, calls about a service go to one environment
    (:meth:`in_environment`); ``state()`` of the agent itself is every environment's. One
    instance keeps its state across connections: pass ``lambda: agent`` as ``connect``;
    :meth:`close` does nothing.
    """

    def __init__(
        self,
        *,
        url: str = "http://127.0.0.1:1",
        environment: str | None = None,
        default_environment: str = "dev",
        world: FakeWorld | None = None,
    ) -> None:
        self.url = url
        self.environment = environment
        self.default_environment = default_environment
        self.world = world if world is not None else FakeWorld()

    def in_environment(self, environment: str) -> FakeAgent:
        return FakeAgent(
            url=self.url,
            environment=environment,
            default_environment=self.default_environment,
            world=self.world,
        )

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        """This view's environment's services (the default environment's for the agent)."""
        name = self.environment or self.default_environment
        return self.world.environments.setdefault(name, {})

    @property
    def health(self) -> dict[str, RevisionHealth]:
        return self.world.health

    @property
    def calls(self) -> list[tuple[str, str]]:
        return self.world.calls

    def close(self) -> None:
        pass

    def state(self) -> dict[str, Any]:
        # A copy, as the real agent's JSON is: callers compare a state before and after a call.
        if self.environment is not None:
            return {"environment": self.environment, "services": copy.deepcopy(self.services)}
        return {
            "default_environment": self.default_environment,
            "environments": {
                name: {"environment": name, "services": copy.deepcopy(services)}
                for name, services in sorted(self.world.environments.items())
            },
        }

    def ensure_listener(self, service: str, port: int = 0) -> int:
        self._service(service)
        return port or 1

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> object:
        self.calls.append(("start_revision", service))
        self._revision(service, revision, 1)
        return self.state()

    def scale(self, service: str, revision: str, replicas: int) -> object:
        svc = self._service(service)
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

    def put_identity(self, service: str, revision: str, token: str) -> object:
        if not any(r["revision"] == revision for r in self._service(service).get("revisions", [])):
            raise AgentRefused(f"no revision {revision}", status=404)
        self.calls.append(("put_identity", service))
        self.world.identities[(self._scope(), service, revision)] = token
        return {"service": service, "revision": revision}

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
        self.world.previews[(self._scope(), service)] = revision
        return f"http://127.0.0.1:{port or 2}"

    def close_preview(self, service: str) -> bool:
        self.calls.append(("close_preview", service))
        return self.world.previews.pop((self._scope(), service), None) is not None

    def query_logs(self, sql: str) -> dict[str, Any]:
        """No replica writes logs here: every query answers an empty table."""
        return {"columns": [], "rows": []}

    def _scope(self) -> str:
        if self.environment is None:  # as the real client: service calls name an environment
            raise TypeError("an agent call about a service needs an environment (in_environment)")
        return self.environment

    def _service(self, service: str) -> dict[str, Any]:
        self._scope()
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
        shown = {
            f"{env}/{name}": svc.get("weights", {})
            for env, services in self.world.environments.items()
            for name, svc in services.items()
        }
        scope = "" if self.environment is None else f"environment={self.environment!r}, "
        return f"FakeAgent({scope}{shown}, calls={len(self.calls)})"
