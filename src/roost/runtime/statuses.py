"""What a runtime reports: plain, immutable snapshots of revisions and their replicas.

The vocabulary is Kubernetes' where one exists (``CrashLoopBackOff``, ``OOMKilled``, restart
count, last termination state) so ``roost ps`` reads the same on either backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

Endpoint = tuple[str, int]
"""``(host, port)`` where a ready replica accepts connections."""


class ReplicaState(StrEnum):
    """Where a replica is in its life."""

    PENDING = "Pending"
    """Not started yet (waiting for a port or its first spawn)."""
    STARTING = "Starting"
    """The process runs; its startup probe has not passed yet."""
    RUNNING = "Running"
    """Started; whether it gets traffic is ``ReplicaStatus.ready``."""
    BACKOFF = "CrashLoopBackOff"
    """It exited or was killed and waits out its restart delay."""
    TERMINATING = "Terminating"
    """Being stopped: drained, then SIGTERM, then SIGKILL after the grace period."""
    STOPPED = "Stopped"
    """Not running and not going to be restarted (stopped, or exited under its policy)."""
    FAILED = "Failed"
    """Cannot run at all (command not found, missing workdir) or exited for good with an error."""


class TerminationReason(StrEnum):
    """Why the last run of a replica ended."""

    COMPLETED = "Completed"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"
    LIVENESS_FAILED = "LivenessProbeFailed"
    STARTUP_FAILED = "StartupProbeFailed"
    STOPPED = "Stopped"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Termination:
    """How one run of a replica ended, with the last lines it printed."""

    reason: TerminationReason
    exit_code: int | None
    """The exit status, or None if it was killed by a signal or the status is unknown."""
    signal: str | None
    """``"SIGKILL"`` etc. when a signal ended it."""
    finished_at: datetime
    message: str = ""
    log_tail: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: ``OOMKilled (SIGKILL): memory 210 MiB > limit 100 MiB``."""
        how = (
            f"exit code {self.exit_code}"
            if self.exit_code is not None
            else self.signal or "status unknown"
        )
        text = f"{self.reason} ({how})"
        return f"{text}: {self.message}" if self.message else text


@dataclass(frozen=True)
class ProbeStatus:
    """The latest verdict of one probe of one replica."""

    kind: str
    """``"startup"``, ``"readiness"`` or ``"liveness"``."""
    passing: bool | None
    """None until the thresholds have decided either way."""
    consecutive_successes: int
    consecutive_failures: int
    last_message: str
    last_checked_at: datetime | None


@dataclass(frozen=True)
class ReplicaStatus:
    """One replica of a revision."""

    index: int
    state: ReplicaState
    ready: bool
    host: str
    port: int | None
    pid: int | None
    restarts: int
    started_at: datetime | None
    message: str = ""
    next_restart_at: datetime | None = None
    last_termination: Termination | None = None
    probes: tuple[ProbeStatus, ...] = ()
    adopted: bool = False
    """True when this runtime found the process already running (after an agent restart)."""

    @property
    def endpoint(self) -> Endpoint | None:
        """Where it listens, if it has a port."""
        return (self.host, self.port) if self.port is not None else None


@dataclass(frozen=True)
class RevisionStatus:
    """A revision and all its replicas, at one moment."""

    service: str
    revision: str
    desired_replicas: int
    replicas: tuple[ReplicaStatus, ...] = field(default_factory=tuple)

    @property
    def ready_endpoints(self) -> list[Endpoint]:
        """Endpoints of the ready replicas, in replica order: what the router may use."""
        return [r.endpoint for r in self.replicas if r.ready and r.endpoint is not None]

    @property
    def ready_replicas(self) -> int:
        """How many replicas are ready."""
        return sum(1 for r in self.replicas if r.ready)

    @property
    def phase(self) -> str:
        """``Available``, ``Progressing``, ``Degraded``, ``Failed`` or ``Stopped`` at a glance."""
        states = {r.state for r in self.replicas}
        if ReplicaState.FAILED in states:
            return "Failed"
        if ReplicaState.BACKOFF in states:
            return "Degraded"
        if self.desired_replicas == 0 and not (states - {ReplicaState.STOPPED}):
            return "Stopped"
        if self.ready_replicas >= self.desired_replicas:
            return "Available"
        return "Progressing"


@dataclass(frozen=True)
class LogLine:
    """One line a replica printed, as stored in the JSON Lines log files."""

    time: datetime
    service: str
    revision: str
    replica: int
    stream: str
    """``"stdout"`` or ``"stderr"``."""
    line: str
