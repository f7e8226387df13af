"""The rollout executor: applies the rollout domain's decisions to the router, the runtime and
the store.

The rollout package decides (pure functions, virtual clock); this module does what a decision
says, in its order, and persists the result:

* every decision's actions are applied first (router: one atomic, fenced weight update per
  ``SetWeights``; runtime: start or scale the new revision) and the new state is persisted
  after, with compare-and-set on the record's version and the decision's timeline lines in the
  same transaction — so a control plane killed in between re-applies from the old state;
* an abort's first action moves 100% of the traffic back to stable before anything is written;
  the router's confirmation time is stamped with ``mark_traffic_reverted`` and persisted with
  the abort, so the timeline has fault-began / detected / traffic-reverted;
* each rollout a process has not seen before (a restart, a new leader) first gets its
  ``restore_actions`` re-applied, then continues where the persisted state says;
* a promotion moves the environment's schema version to the release's ``migrates_to``.

It acts only while the control plane leads, and every write carries the lead's fence. The loop
that calls :meth:`RolloutExecutor.tick` lives in :mod:`roost.control.rollouts.reconciling`;
operations (deploy, approve, commands, rollback) are in :mod:`roost.control.operations.deploying`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from roost.control.dataplane.agents import AgentClient, AgentRefused, AgentUnavailable
from roost.control.dataplane.metrics import AgentMetricsSource
from roost.control.dataplane.protocol import AgentApi
from roost.control.errors import OperationError
from roost.control.fencing import Leader
from roost.control.releases.releasing import ReleaseError
from roost.control.releases.revisions import service_of
from roost.control.rollouts.applying import Applier, Lines, keep_lag, timeline_of, waiting_of
from roost.control.rollouts.observing import (
    AgentState,
    CanaryView,
    environment_view,
    observe_canary,
    replica_keys,
    with_page_check,
)
from roost.control.rollouts.requests import (
    AWAITING_APPROVAL,
    DeployRequest,
    load_request,
    load_state,
    record_data,
    record_state,
)
from roost.control.rollouts.scaling_down import ScaleDowns
from roost.control.rollouts.warming import Warmer
from roost.control.workspace import Workspace
from roost.rollout import (
    Decision,
    HumanCommand,
    Observation,
    Phase,
    RecordTimeline,
    RolloutState,
    SetWeights,
    analyse,
    analysis_due,
    decide,
    mark_traffic_reverted,
    restore_actions,
    start_rollout,
)
from roost.spec import Service
from roost.store import Conflict, Fence, ReleaseRecord, RolloutRecord, StaleFencingToken, StoreError

log = logging.getLogger("roost.control.rollouts.executor")

TICK_SECONDS = 1.0
"""The longest the loop sleeps: rollouts are looked at least this often."""
MIN_SLEEP = 0.02


class RolloutExecutor:
    """Drives the rollouts in the store. Thread-safe: the loop and API requests share it, and
    each rollout is handled under its own lock."""

    def __init__(
        self,
        ws: Workspace,
        *,
        agent_dir: Path,
        leader: Leader | None = None,
        connect: Callable[[], AgentApi] | None = None,
        warmer: Warmer | None = None,
    ) -> None:
        self.ws = ws
        self.leader = leader
        self._connect = connect or (lambda: AgentClient.for_project(agent_dir, timeout=15.0))
        self.warmer = warmer or Warmer(clock=ws.clock)
        self.wake = threading.Event()
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}
        self._restored: set[str] = set()
        self._wakes: dict[str, datetime] = {}
        self._waiting_for: str | None = None
        self.applier = Applier(ws, fence=self.fence)
        self._scale_downs = ScaleDowns(ws.store, clock=ws.clock, fence=self.fence)
        self.analysis_lag: list[float] = []
        """Seconds each analysis ran after it was due (kept for the benchmark; bounded)."""

    # -- leadership -----------------------------------------------------------------------------

    @property
    def leading(self) -> bool:
        return self.leader is None or self.leader.leading

    def fence(self) -> Fence | None:
        """The fence for writes (None without leadership: a test or single-user setup)."""
        return None if self.leader is None else self.leader.fence

    def require_leading(self) -> None:
        """Refuse an operation on a control plane that does not lead (asking a follower's
        leader for its fence raises the 503 that names the leader)."""
        if not self.leading:
            self.fence()
            raise OperationError(
                "this roost serve does not lead the control plane",
                status=503,
                hint="another roost serve is leading; send the request there",
            )

    def forget_restored(self) -> None:
        """A new tenure re-applies every rollout's restore actions before stepping it: another
        leader may have moved the router in the meantime."""
        self._restored.clear()

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _locked(self, rollout_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(rollout_id, threading.RLock())
        with lock:
            yield

    @contextmanager
    def agent(self, environment: str | None = None) -> Iterator[AgentApi]:
        """The agent, for ``environment``'s services when given (every rollout step talks to
        its own environment only: a canary in staging never touches dev's router)."""
        client = self._connect()
        try:
            yield client if environment is None else client.in_environment(environment)
        finally:
            client.close()

    # -- starting -------------------------------------------------------------------------------

    def begin(
        self,
        *,
        release: ReleaseRecord,
        stable: str | None,
        request: DeployRequest,
        record: RolloutRecord | None = None,
        notes: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> RolloutRecord:
        """Start the rollout of ``release`` replacing ``stable``: a new record, or ``record``
        (one that waited for approval) moved on. Applies the first actions right away."""
        spec = service_of(release)
        decision = start_rollout(
            spec,
            environment=request.environment,
            canary=release.id,
            stable=stable,
            now=self.ws.clock.now(),
            fast=request.fast,
        )
        state = decision.state
        request = request.with_changes(waiting=waiting_of(decision))
        lines: Lines = [*notes, *timeline_of(decision)]
        store = self.ws.store
        if record is None:
            record = store.rollouts.create(
                release.service,
                request.environment,
                to_release=release.id,
                from_release=stable,
                strategy=state.strategy.value,
                state=record_state(state),
                step=state.step,
                data=record_data(state, request),
                timeline=lines,
                fence=self.fence(),
            )
        else:
            record = store.rollouts.transition(
                record.id,
                expected_version=record.version,
                state=record_state(state),
                step=state.step,
                data=record_data(state, request),
                timeline=lines,
                fence=self.fence(),
            )
        self.applier.audit(record, lines, actor=request.requested_by)
        with self._locked(record.id):
            try:
                with self.agent(request.environment) as agent:
                    self._restore(agent, record, state)
            except (AgentUnavailable, AgentRefused, ReleaseError) as exc:
                # The record is there: the loop retries the restore on its next tick.
                log.warning("rollout %s: could not apply its first actions: %s", record.id, exc)
        self.wake.set()
        return record

    # -- the loop's work ------------------------------------------------------------------------

    def tick(self) -> float:
        """Move every active rollout on; seconds until the next tick is due."""
        if not self.leading:
            return TICK_SECONDS
        store = self.ws.store
        try:
            records = store.rollouts.list(active_only=True, limit=1000)
            with self.agent() as agent:
                view = agent.state()
                for record in records:
                    self._step_safely(
                        agent.in_environment(record.environment),
                        record,
                        environment_view(view, record.environment),
                    )
                self._scale_downs.sweep(agent, view, active=records)
                self.warmer.retain(replica_keys(view))
        except (AgentUnavailable, StoreError, OperationError) as exc:
            # The agent is down, the store is busy, or the lead was lost mid-tick: try again
            # (said once per reason, not once per tick).
            if str(exc) != self._waiting_for:
                log.warning("rollouts wait: %s", exc)
                self._waiting_for = str(exc)
            return TICK_SECONDS
        if self._waiting_for is not None:
            log.warning("rollouts go on (they waited: %s)", self._waiting_for)
            self._waiting_for = None
        now = self.ws.clock.now()
        # list(): API threads update the wake-ups while the loop reads them.
        due = [(when - now).total_seconds() for when in list(self._wakes.values())]
        return max(MIN_SLEEP, min([TICK_SECONDS, *due]))

    def _step_safely(self, agent: AgentApi, record: RolloutRecord, view: AgentState) -> None:
        try:
            self.step(agent, record, view)
        except Conflict:
            pass  # moved by a command in the meantime: the next tick decides from the new state
        except StaleFencingToken:
            raise
        except (AgentRefused, AgentUnavailable, ReleaseError, StoreError, ValueError) as exc:
            log.warning("rollout %s: %s", record.id, exc)

    def step(self, agent: AgentApi, record: RolloutRecord, view: AgentState) -> None:
        """One decision for ``record``: observe, analyse if due, decide, apply, persist."""
        with self._locked(record.id):
            record = self.ws.store.rollouts.get(record.id)
            if not record.active:
                self._wakes.pop(record.id, None)
                return
            request = load_request(record)
            if record.state == AWAITING_APPROVAL:
                self.applier.expire_approval(record, request)
                return
            state = load_state(record)
            if state is None:
                return
            if record.id not in self._restored:
                self._restore(agent, record, state)
                view = agent.state()
            spec = self.applier.spec(record.to_release)
            canary = self._observe(agent, view, spec, state)
            began = self.ws.clock.now()
            verdict = None
            due = analysis_due(state, spec, now=began)
            if due is not None:
                assert state.next_analysis_at is not None
                keep_lag(self.analysis_lag, (began - state.next_analysis_at).total_seconds())
                verdict = analyse(AgentMetricsSource(agent), due, now=began)
                canary = with_page_check(canary, agent, spec, state.canary, now=began)
            observation = Observation(
                verdict=verdict,
                warm_replicas=canary.warm,
                failure=canary.failure,
                failure_by=canary.failure_by,
            )
            decision = decide(state, spec, observation, now=self.ws.clock.now())
            self._commit(agent, record, request, state, decision, actor="roost")

    def command(self, rollout_id: str, command: HumanCommand) -> tuple[RolloutRecord, list[str]]:
        """Apply a person's command now; the record after it and why parts were ignored."""
        self.require_leading()
        with self._locked(rollout_id):
            environment = self.ws.store.rollouts.get(rollout_id).environment
        with self._locked(rollout_id), self.agent(environment) as agent:
            record = self.ws.store.rollouts.get(rollout_id)
            state = load_state(record)
            if state is None or not record.active:
                raise OperationError(f"rollout {rollout_id} is {record.state}", status=409)
            if record.id not in self._restored:
                self._restore(agent, record, state)
            spec = self.applier.spec(record.to_release)
            canary = self._observe(agent, agent.state(), spec, state)
            observation = Observation(warm_replicas=canary.warm, command=command)
            decision = decide(state, spec, observation, now=self.ws.clock.now())
            record = self._commit(
                agent, record, load_request(record), state, decision, actor=command.by
            )
        ignored = [
            str(action.detail.get("why"))
            for action in decision.of_kind(RecordTimeline)
            if action.entry == "command_ignored"
        ]
        self.wake.set()
        return record, ignored

    # -- applying -------------------------------------------------------------------------------

    def _commit(
        self,
        agent: AgentApi,
        record: RolloutRecord,
        request: DeployRequest,
        before: RolloutState,
        decision: Decision,
        *,
        actor: str,
    ) -> RolloutRecord:
        state = decision.state
        lines: Lines = []
        reverted_at = None
        for action in decision.actions:
            if self.applier.apply(agent, record.service, request.environment, action):
                if isinstance(action, SetWeights) and state.abort is not None:
                    # The router confirmed: traffic is back.
                    reverted_at = reverted_at or self.ws.clock.now()
            elif isinstance(action, RecordTimeline):
                lines.append((action.entry, dict(action.detail)))
            # Wait, PauseForHuman, Promote, Abort and ScaleDownAfter are in the state itself:
            # the wait is read below, the rest is persisted and the scale-down swept later.
        if state.abort is not None and reverted_at is not None:
            marked = mark_traffic_reverted(state, at=reverted_at)
            state = marked.state
            lines.extend(timeline_of(marked))
        lines.extend(self.applier.preview(agent, record, before, state))
        if state.phase is Phase.PROMOTED and before.phase is not Phase.PROMOTED:
            lines.extend(self.applier.migrate_schema(record, request.environment))
        wait = decision.wait
        if wait is not None and wait.until is not None:
            self._wakes[record.id] = wait.until
        else:
            self._wakes.pop(record.id, None)
        updated = request.with_changes(waiting=waiting_of(decision), error=None)
        if state == before and not lines and updated == request:
            return record
        new = self.ws.store.rollouts.transition(
            record.id,
            expected_version=record.version,
            state=record_state(state),
            step=state.step,
            data=record_data(state, updated),
            ended=state.ended,
            timeline=lines,
            fence=self.fence(),
        )
        self.applier.audit(new, lines, actor=actor)
        return new

    def _restore(self, agent: AgentApi, record: RolloutRecord, state: RolloutState) -> None:
        """Make the router and runtime match the persisted state (all idempotent)."""
        request = load_request(record)
        for action in restore_actions(state, now=self.ws.clock.now()):
            self.applier.apply(agent, record.service, request.environment, action)
        self._restored.add(record.id)

    def _observe(
        self, agent: AgentApi, view: AgentState, spec: Service, state: RolloutState
    ) -> CanaryView:
        return observe_canary(
            view,
            spec,
            state.canary,
            host=urlsplit(agent.url).hostname or "127.0.0.1",
            warmer=self.warmer,
            now=self.ws.clock.now(),
        )

    def __repr__(self) -> str:
        return f"RolloutExecutor({self.ws.project.project!r}, restored={len(self._restored)})"
