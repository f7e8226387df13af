"""What ``roost serve`` does with the leader-election gate
(:mod:`roost.control.leadership.leading`).

Every ``roost serve`` runs the election and serves the API. Only the leader acts:

* :class:`GateLeader` is the gate as the executor and the control plane see it
  (:class:`~roost.control.fencing.Leader`): ``leading``, and a ``fence`` that is never None —
  asking a follower for one raises a 503 ``not the leader; leader is X``, so every write path
  (API operations, the rollout loop) refuses on a follower with the same clear answer.
* :class:`LeaderDuties` starts the rollout loop when this process becomes the leader and stops
  it the moment it stops being one. A new tenure first re-applies every active rollout's
  restore actions (another leader may have moved the router in between), records that it
  leads, and adopts what the agent runs; the executor then resumes each rollout from its
  persisted state. A deposed leader's in-flight writes carry a stale fence and are refused by
  the store and the agent anyway; stopping the loop makes it stop *trying*.

The election callbacks run on the election thread and must stay short, so the slow part of a
new tenure (talking to the agent) runs on this module's own thread; stepping down only flips
flags and signals the loop, so it takes effect at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from roost._util import event_catalog as events
from roost.control.errors import OperationError
from roost.control.guards.locks import KEEP_EVERY, DeployLocks
from roost.control.leadership.leading import LeadershipGate, NotLeading
from roost.control.operations.plane import ControlPlane
from roost.control.rollouts.executor import RolloutExecutor
from roost.control.rollouts.reconciling import Reconciler
from roost.store import Fence, StoreError

log = logging.getLogger("roost.control.leadership.duties")

LEADER_EVENT = events.CONTROL_LEADING


def not_leader_error(gate: LeadershipGate) -> OperationError:
    """The answer a follower gives to a write: 503, naming the leader when it knows one."""
    leader = gate.leader
    if leader and leader != gate.identity:
        return OperationError(
            f"not the leader; leader is {leader}",
            status=503,
            hint="send writes to the leading roost serve (`roost doctor` shows which one); "
            "this one serves reads and takes over if the leader dies",
        )
    return OperationError(
        "not the leader; no leader is elected yet",
        status=503,
        hint="an election is under way: retry in a few seconds",
    )


class GateLeader:
    """The gate behind the :class:`~roost.control.fencing.Leader` protocol."""

    def __init__(self, gate: LeadershipGate) -> None:
        self.gate = gate

    @property
    def leading(self) -> bool:
        return self.gate.is_leader

    @property
    def fence(self) -> Fence:
        """This tenure's fence; a 503 :class:`OperationError` naming the leader on a follower."""
        try:
            return self.gate.require_fence()
        except NotLeading:
            raise not_leader_error(self.gate) from None

    def __repr__(self) -> str:
        return f"GateLeader({self.gate!r})"


PERIODIC_EVERY = 1.0
"""Seconds between two rounds of the periodic duties (a schedule's tick is a minute: a run
starts within about a second of it)."""


class PeriodicDuty(Protocol):
    """Work the leader does every :data:`PERIODIC_EVERY` seconds (the schedule runner):
    ``take_office`` once per tenure, then ``tick`` with the tenure's fence."""

    def take_office(self, fence: Fence) -> object: ...

    def tick(self, fence: Fence) -> object: ...


class LeaderDuties:
    """Runs the rollout loop exactly while this process leads (see the module doc)."""

    def __init__(
        self,
        gate: LeadershipGate,
        *,
        plane: ControlPlane,
        executor: RolloutExecutor,
        on_lead: Callable[[Fence], None] | None = None,
        say: Callable[[str], None] | None = None,
        deploy_locks: DeployLocks | None = None,
        periodic: Sequence[PeriodicDuty] = (),
    ) -> None:
        self.gate = gate
        self.periodic = tuple(periodic)
        self.deploy_locks = deploy_locks
        self.plane = plane
        self.executor = executor
        self._on_lead = on_lead
        self._say = say or (lambda message: log.info("%s", message))
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._tenure: Fence | None = None  # the tenure the gate announced, None while following
        self._running: Reconciler | None = None
        self._halted: list[Reconciler] = []
        self.tenures = 0
        self._thread = threading.Thread(target=self._run, name="leader-duties", daemon=True)
        self._ticker = threading.Thread(target=self._tick, name="leader-periodic", daemon=True)
        self._offices: dict[int, Fence] = {}  # per duty: the tenure it last took office in

    def start(self) -> LeaderDuties:
        """Register with the gate (call before ``gate.start()``, or after: nothing is missed)."""
        self._thread.start()
        if self.periodic:
            self._ticker.start()
        self.gate.on_started_leading(self._started)
        self.gate.on_stopped_leading(self._stopped)
        return self

    @property
    def acting(self) -> bool:
        """Whether the rollout loop runs in this process now."""
        with self._lock:
            return self._running is not None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop for good (before the gate stops: nothing acts after the lease goes)."""
        self._stop.set()
        self._kick.set()
        with self._lock:
            self._tenure = None
            running, self._running = self._running, None
        if running is not None:
            self._halted.append(running)
        self._thread.join(timeout)
        if self._ticker.is_alive():
            self._ticker.join(timeout)
        for reconciler in self._halted:
            reconciler.stop(timeout)

    # -- gate callbacks (election thread: short) -------------------------------------------------

    def _started(self, fence: Fence) -> None:
        with self._lock:
            self._tenure = fence
        self._kick.set()

    def _stopped(self) -> None:
        with self._lock:
            self._tenure = None
            running, self._running = self._running, None
        if running is not None:
            running.stop(timeout=0)  # signal only: the loop checks the lead before every tick
            self._halted.append(running)
            self._say(f"{self.gate.identity} stepped down: the rollout loop stopped")

    # -- the slow part of a new tenure -----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(KEEP_EVERY if self.deploy_locks is not None else None)
            self._kick.clear()
            if self._stop.is_set():
                return
            with self._lock:
                fence = self._tenure
                current = self._running
            self._keep_locks(leading=fence is not None)
            if fence is None or current is not None:
                continue
            try:
                self._take_office(fence)
            except Exception:  # never leave a leader without its loop because of one failure
                log.exception("starting the leader's duties failed; the loop starts anyway")
            with self._lock:
                if self._tenure is not fence or self._running is not None or self._stop.is_set():
                    continue  # deposed (or stopped) while adopting: do not start acting
                self._running = Reconciler(self.executor).start()
            self.tenures += 1

    def _tick(self) -> None:
        """The periodic duties, while this process leads and its rollout loop runs."""
        while not self._stop.wait(PERIODIC_EVERY):
            with self._lock:
                fence = self._tenure if self._running is not None else None
            if fence is None:
                continue
            for duty in self.periodic:
                try:
                    if self._offices.get(id(duty)) is not fence:
                        duty.take_office(fence)
                        # Only once it worked: a failed take-over is tried again next round.
                        self._offices[id(duty)] = fence
                    duty.tick(fence)
                except (StoreError, OperationError) as exc:
                    # A stale fence (deposed meanwhile) or an unreachable store: the next round
                    # asks again; the gate's callbacks decide whether there is one.
                    log.warning("%r: %s", duty, exc)
                except Exception:  # one duty's bug must not stop the others or the loop
                    log.exception("periodic duty %r failed", duty)

    def _keep_locks(self, *, leading: bool) -> None:
        """The deploy lock of every active rollout, held while this process leads."""
        if self.deploy_locks is None:
            return
        if not leading:
            self.deploy_locks.release_all()
            return
        try:
            active = self.plane.ws.store.rollouts.list(active_only=True, limit=1000)
        except StoreError as exc:
            log.warning("deploy locks not kept: %s", exc)
            return
        self.deploy_locks.keep(active)

    def _take_office(self, fence: Fence) -> None:
        self._say(
            f"{self.gate.identity} leads the control plane (fencing token {fence.token}): "
            "resuming rollouts from the store"
        )
        self.executor.forget_restored()
        try:
            self.plane.ws.store.events.append(
                LEADER_EVENT,
                source=events.SOURCE_SERVE,
                subject=self.plane.ws.project.project,
                data={"identity": self.gate.identity, "fencing_token": fence.token},
                fence=fence,
            )
        except (StoreError, OperationError) as exc:
            log.warning("could not record the new tenure: %s", exc)
        adopted = self.plane.adopt()
        if adopted:
            self._say(f"adopted running revisions: {', '.join(adopted)}")
        if self._on_lead is not None:
            self._on_lead(fence)

    def __repr__(self) -> str:
        return f"LeaderDuties({self.gate.identity!r}, acting={self.acting})"
