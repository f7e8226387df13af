"""What ``roost doctor`` looks at, as plain data: every agent's condition from its heartbeat,
the control-plane leader and its lease, recent events that matter, and — for an agent that is
not Ready — the likely causes found on this machine.

It reads the state store directly (no ``roost serve`` needed: the doctor must work when the
control plane is the thing that is down) and this project's state files. Conditions are judged
from the lease timestamps (:func:`roost.leases.conditions.judge_once`), which assumes the agent's
clock agrees with this one — true on one machine, and what NTP gives between machines.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from roost._util.files import read_json_object
from roost._util.processes import pid_alive
from roost.leases.conditions import NOT_READY, AgentCondition, Heartbeat, judge_once
from roost.store import EventRecord, LeaseRecord, Store

EVENT_PREFIXES = (
    "dev.roost.agent.",
    "dev.roost.control.",
    "dev.roost.api.",
    "dev.roost.lock.",
)
DISK_FREE_MIN_BYTES = 1 << 30
"""Below this much free space on the workspace's filesystem: disk pressure."""
DISK_FREE_MIN_RATIO = 0.05
MEMORY_AVAILABLE_MIN_BYTES = 256 << 20
"""Below this much available memory: memory pressure."""
MEMORY_AVAILABLE_MIN_RATIO = 0.05
GONE = ("process gone", "port unreachable")


@dataclass(frozen=True, slots=True)
class AgentReport:
    condition: AgentCondition
    heartbeat_age: float
    local: bool
    causes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LeaderReport:
    lease: LeaseRecord | None
    alive: bool
    age: float | None

    @property
    def holder(self) -> str | None:
        return None if self.lease is None else self.lease.holder


@dataclass(frozen=True, slots=True)
class Pressure:
    disk_free: int
    disk_total: int
    memory_available: int
    memory_total: int

    @property
    def disk(self) -> str | None:
        low = self.disk_free < min(DISK_FREE_MIN_BYTES, DISK_FREE_MIN_RATIO * self.disk_total)
        if not low:
            return None
        return f"disk pressure: {_size(self.disk_free)} free of {_size(self.disk_total)}"

    @property
    def memory(self) -> str | None:
        low = self.memory_available < max(
            MEMORY_AVAILABLE_MIN_BYTES, MEMORY_AVAILABLE_MIN_RATIO * self.memory_total
        )
        if not low:
            return None
        return (
            f"memory pressure: {_size(self.memory_available)} available of "
            f"{_size(self.memory_total)}"
        )


@dataclass(frozen=True, slots=True)
class Diagnosis:
    agents: list[AgentReport]
    leader: LeaderReport
    events: list[EventRecord]
    pressure: Pressure
    problems: list[str]

    @property
    def healthy(self) -> bool:
        return not self.problems


def diagnose(
    store: Store,
    *,
    root: Path,
    lease_name: str,
    agent_prefix: str,
    local_node: str,
    grace: float,
    events: int = 10,
) -> Diagnosis:
    """Look at everything once (see the module doc)."""
    now = store.clock.now()
    leases = store.leases.list()
    pressure = measure_pressure(root)
    agent_dir = root / ".roost" / "agent"
    agents = []
    for lease in leases:
        if not lease.name.startswith(agent_prefix):
            continue
        node = lease.name.removeprefix(agent_prefix)
        beat = Heartbeat(node, lease.holder, lease.renewed_at, lease.fencing_token)
        condition = judge_once(beat, now=now, grace=grace)
        local = node == local_node.removeprefix(agent_prefix)
        causes = _local_causes(agent_dir, pressure, holder=lease.holder) if local else []
        if condition.ready and any(c.startswith(GONE) for c in causes):
            # A dead agent is NotReady now, not once its grace has run out.
            condition = replace(condition, status=NOT_READY, reason="its process is gone")
        if not local and not condition.ready:
            causes = ["on another machine: run `roost doctor` there"]
        if local and not condition.ready and not causes:
            causes = ["no cause found on this machine: is the state store reachable from it?"]
        age = (now - lease.renewed_at).total_seconds()
        agents.append(AgentReport(condition, age, local, causes))
    leader_lease = next((lease for lease in leases if lease.name == lease_name), None)
    leader = LeaderReport(
        leader_lease,
        alive=leader_lease is not None and not leader_lease.expired(now),
        age=None if leader_lease is None else (now - leader_lease.renewed_at).total_seconds(),
    )
    problems = [
        f"{report.condition.describe()}; likely: {'; '.join(report.causes)}"
        for report in agents
        if not report.condition.ready
    ]
    if not agents:
        problems.append("no agent has ever sent a heartbeat to this store (start one: `roost up`)")
    if not leader.alive:
        who = (
            f" (last held by {leader_lease.holder})" if leader_lease and leader_lease.holder else ""
        )
        problems.append(f"no control-plane leader: lease {lease_name!r} is free or expired{who}")
    problems.extend(p for p in (pressure.disk, pressure.memory) if p)
    recent = [
        event for event in store.events.list(limit=200) if event.type.startswith(EVENT_PREFIXES)
    ][:events]
    return Diagnosis(agents, leader, recent, pressure, problems)


def measure_pressure(root: Path) -> Pressure:
    import psutil

    disk = shutil.disk_usage(root)
    memory = psutil.virtual_memory()
    return Pressure(disk.free, disk.total, int(memory.available), int(memory.total))


def _local_causes(agent_dir: Path, pressure: Pressure, *, holder: str | None) -> list[str]:
    """Why this machine's agent may be NotReady (empty while it looks healthy)."""
    causes = []
    recorded = read_json_object(agent_dir / "agent.json")
    pid = recorded.get("pid") if recorded else None
    url = recorded.get("url") if recorded else None
    if recorded is None:
        causes.append(f"process gone: no agent.json in {agent_dir} (stopped, or never started)")
    elif not isinstance(pid, int) or not pid_alive(pid):
        causes.append(f"process gone: agent pid {pid} is not running (it left agent.json behind)")
    if isinstance(url, str) and not port_open(url):
        causes.append(f"port unreachable: nothing answers at {url}/healthz")
    if holder is not None and isinstance(pid, int) and not holder.endswith(f":{pid}"):
        causes.append(f"the lease is held by {holder}, not by the agent in agent.json (pid {pid})")
    causes.extend(p for p in (pressure.disk, pressure.memory) if p)
    return causes


def port_open(url: str, timeout: float = 1.0) -> bool:
    """Whether the agent at ``url`` answers its ``/healthz``. A bare TCP connect is not
    enough: a dead agent's listening socket may live on in a process that inherited it, and
    the kernel still accepts connections nobody will ever read."""
    import httpx

    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    return f"{seconds / 60:.0f}m ago"


def when_text(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S %Z}".strip()
