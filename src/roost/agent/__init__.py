"""The agent: the data plane of one machine, in its own process.

It hosts the local runtime (the replicas), one proxy listener per service and the per-revision
telemetry, and obeys the control plane over a small HTTP API. It is a separate process so that
killing the control plane — even ``kill -9`` — never stops a workload or drops a request; a
restarted control plane finds everything still running and carries on (ARCHITECTURE.md,
principle 8).
"""

from roost.agent.hosting import Agent, AgentError

__all__ = ["Agent", "AgentError"]
