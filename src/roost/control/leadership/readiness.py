"""Agent readiness inside ``roost serve``: watch the agents' node leases, mark an agent
NotReady after its grace period without a heartbeat, record each transition once in the audit
log, and give no new work to a NotReady agent.

The decisions are :mod:`roost.leases.conditions` (pure, virtual-clock tested); this module reads
the leases, keeps the conditions, and writes the events. Every ``roost serve`` watches (a
follower's view is ready the moment it leads), but only the leader records transitions, with
its fence — so two control planes never report the same one twice.

"No new work" is enforced where the control plane reaches the agent: :meth:`AgentWatch.connector`
hands the rollout executor a connection that refuses while the local agent is NotReady, so a
deploy is refused (503, naming the agent, since when and its last heartbeat) before anything is
written, and the rollout loop holds every rollout where it is instead of hanging on a dead agent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from roost.clock import Clock, RealClock
from roost.control.dataplane.agents import AgentClient, AgentUnavailable
from roost.control.dataplane.protocol import AgentApi
from roost.control.errors import OperationError
from roost.control.fencing import Leader
from roost.leases.conditions import AgentCondition, Heartbeat, grace_seconds, judge
from roost.store import Store, StoreError

__all__ = ["AgentNotReady", "AgentWatch", "grace_seconds"]

log = logging.getLogger("roost.control.leadership.readiness")

EVENT_SOURCE = "roost/control"


class AgentNotReady(AgentUnavailable):
    """The agent this work needs has stopped sending heartbeats."""

    hint = "`roost doctor` shows the likely cause; new work waits until the agent is back"


class AgentWatch:
    """Conditions of every agent whose node lease is in ``store`` (names ``prefix`` + node)."""

    def __init__(
        self,
        store: Store,
        *,
        grace: float,
        leader: Leader | None = None,
        prefix: str = "agent-",
        local: str | None = None,
        say: Callable[[str], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.grace = grace_seconds(grace)
        self.leader = leader
        self.prefix = prefix
        self.local = local
        """The node lease name of this machine's agent (the one the executor talks to)."""
        self._say = say or (lambda message: log.info("%s", message))
        self._clock = clock or RealClock()
        self._lock = threading.Lock()
        self._conditions: dict[str, AgentCondition] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agent-watch", daemon=True)
        self.interval = min(1.0, self.grace / 4)

    # -- reading ---------------------------------------------------------------------------------

    def conditions(self) -> list[AgentCondition]:
        with self._lock:
            return list(self._conditions.values())

    def condition(self, node: str) -> AgentCondition | None:
        with self._lock:
            return self._conditions.get(node)

    def refusal(self) -> AgentNotReady | None:
        """Why no new work may go to the local agent now, or None."""
        if self.local is None:
            return None
        condition = self.condition(self.local.removeprefix(self.prefix))
        if condition is None or condition.ready:
            return None
        return AgentNotReady(condition.describe())

    def connector(self, agent_dir: Path) -> Callable[[], AgentApi]:
        """The executor's way to the agent: refused while the local agent is NotReady."""

        def connect() -> AgentApi:
            refused = self.refusal()
            if refused is not None:
                raise refused
            return AgentClient.for_project(agent_dir, timeout=15.0)

        return connect

    # -- watching --------------------------------------------------------------------------------

    def start(self) -> AgentWatch:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def poll(self) -> list[AgentCondition]:
        """Read the node leases once; record and return the transitions."""
        beats = [
            Heartbeat(
                lease.name.removeprefix(self.prefix),
                lease.holder,
                lease.renewed_at,
                lease.fencing_token,
            )
            for lease in self.store.leases.list()
            if lease.name.startswith(self.prefix)
        ]
        with self._lock:
            self._conditions, changed = judge(
                self._conditions,
                beats,
                monotonic=self._clock.monotonic(),
                now=self._clock.now(),
                grace=self.grace,
            )
        for condition in changed:
            self._report(condition)
        return changed

    def _report(self, condition: AgentCondition) -> None:
        self._say(condition.describe())
        if self.leader is not None and not self.leader.leading:
            return  # the leader records it
        try:
            self.store.events.append(
                condition.event_type,
                source=EVENT_SOURCE,
                subject=condition.node,
                data=condition.event_data(),
                fence=None if self.leader is None else self.leader.fence,
            )
        except (StoreError, OperationError) as exc:
            log.warning("could not record %s: %s", condition.event_type, exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except StoreError as exc:  # the store is busy or away: conditions stay as they were
                log.warning("agent heartbeats not read: %s", exc)
            except Exception:  # a bug here must not end the watch for good
                log.exception("agent watch failed")
            self._stop.wait(self.interval)

    def __repr__(self) -> str:
        shown = ", ".join(f"{c.node}={c.status}" for c in self.conditions())
        return f"AgentWatch(grace={self.grace:g}s, {shown or 'no agents'})"
