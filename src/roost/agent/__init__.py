"""The agent: the data plane of one machine, in its own process.

It hosts the local runtime (the replicas), one proxy listener per service and the per-revision
telemetry, and obeys the control plane over a small HTTP API. It is a separate process so that
killing the control plane — even ``kill -9`` — never stops a workload or drops a request; a
restarted control plane finds everything still running and carries on (ARCHITECTURE.md,
principle 8). Its supervisor (:mod:`roost.agent.supervising`) restarts it in turn.

``Agent`` and ``AgentError`` are imported on first use: the supervisor imports this package and
must not pay for the agent's imports (the runtime, the proxy, telemetry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roost.agent.hosting import Agent, AgentError

__all__ = ["Agent", "AgentError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from roost.agent import hosting

        return getattr(hosting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
