"""The agent calls the control plane makes, as a protocol: the executor does not care which
agent client is behind it (HTTP to the local agent, or the in-memory fake of the tests and
``bench/``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypedDict


class RevisionMetrics(TypedDict, total=False):
    """The agent's summary of one revision's traffic over a window (``GET .../metrics``); a
    quantile or ratio is None when there were no requests to compute it from."""

    requests: int
    rps: float
    error_ratio: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    samples: list[float]


class AgentApi(Protocol):
    """The agent calls the executor makes (:class:`~roost.control.dataplane.agents.AgentClient`)."""

    url: str
    environment: str | None
    """The environment the service calls go to (None: only ``state()`` of the whole agent)."""

    def in_environment(self, environment: str) -> AgentApi:
        """The same agent, for ``environment``'s services (environments are boundaries)."""
        ...

    def close(self) -> None: ...

    def state(self) -> dict[str, Any]: ...

    def ensure_listener(self, service: str, port: int = 0) -> int: ...

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> object: ...

    def scale(self, service: str, revision: str, replicas: int) -> object: ...

    def stop_revision(self, service: str, revision: str) -> object: ...

    def put_identity(self, service: str, revision: str, token: str) -> object:
        """Replace the running revision's workload token file (roost.identity)."""
        ...

    def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]: ...

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> RevisionMetrics: ...

    def open_preview(self, service: str, revision: str, port: int = 0) -> str: ...

    def query_logs(self, sql: str) -> dict[str, Any]: ...

    def close_preview(self, service: str) -> bool: ...
