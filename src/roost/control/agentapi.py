"""The two things the rollout executor is handed: a way to talk to the agent, and the lead.

Protocols, so the executor does not care which agent client (HTTP to the local agent, or a
simulated one in ``bench/``) or which leader-election gate is behind them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from roost.store import Fence


class AgentApi(Protocol):
    """The agent calls the executor makes (:class:`~roost.control.agents.AgentClient`)."""

    url: str

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


class Leader(Protocol):
    """Whether this control plane leads, and the fence its writes carry
    (:class:`~roost.control.leadership.GateLeader`). ``fence`` is never None: asked on a
    process that does not lead, it raises."""

    @property
    def leading(self) -> bool: ...

    @property
    def fence(self) -> Fence: ...
