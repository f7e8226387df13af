"""The agent calls the control plane makes, as a protocol: the executor does not care which
agent client is behind it (HTTP to the local agent, or the in-memory fake of the tests and
``bench/``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


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

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> dict[str, Any]: ...

    def scale(self, service: str, revision: str, replicas: int) -> dict[str, Any]: ...

    def stop_revision(self, service: str, revision: str) -> dict[str, Any]: ...

    def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]: ...

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> dict[str, Any]: ...

    def open_preview(self, service: str, revision: str, port: int = 0) -> str: ...

    def close_preview(self, service: str) -> bool: ...
