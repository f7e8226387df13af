"""Running schedules on the leading control plane: each due tick is claimed once in the store,
then its action runs (:func:`roost.actions.run_action`, audited with the schedule and tick).

Exactly once per tick across control planes: the claim is a run record unique per (schedule,
tick), written with the leader's fencing token (:meth:`roost.store.Store.schedule_runs`). Two
leaders that overlap for a moment cannot both claim a tick (the unique row), and a paused
ex-leader cannot claim one after the lease moved (the fence). A tick nobody claimed while no
control plane led is *due* for the next leader, which applies the missed-run policy
(:func:`roost.schedules.plan`). A run the previous leader claimed but never finished is marked
``interrupted`` when a new tenure starts — not run again, because its action may have happened.

Concurrency (a tick while the previous run of the same schedule still runs): ``allow`` starts
it anyway, ``forbid`` records the tick as ``skipped``, ``replace`` cancels the running one (its
record ends ``replaced``) and starts the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from roost._util import event_catalog as events
from roost.actions.protocol import ActionContext, Cause
from roost.actions.registry import run_action
from roost.control.errors import OperationError
from roost.control.wiring import Wiring
from roost.schedules import Fire, fires, plan
from roost.spec.schedules import Schedule
from roost.store import Fence, ScheduleRunRecord, StaleFencingToken, StoreError, causation

log = logging.getLogger("roost.actions.scheduling")

Spawn = Callable[[Callable[[], None]], None]


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="schedule-run", daemon=True).start()


@dataclass
class _Running:
    run_id: int
    context: ActionContext
    done: threading.Event = field(default_factory=threading.Event)


class ScheduleRunner:
    """Claims and runs the due ticks of roost.yaml's schedules; call :meth:`tick` on the leader
    (``roost serve``'s duties do, every second) with its fence."""

    def __init__(self, wiring: Wiring, *, identity: str, spawn: Spawn = _thread) -> None:
        self.wiring = wiring
        self.identity = identity
        self._spawn = spawn
        self._lock = threading.Lock()
        self._running: dict[str, list[_Running]] = {}
        self._next: dict[str, tuple[Schedule, datetime, datetime | None]] = {}

    def take_office(self, fence: Fence | None) -> list[ScheduleRunRecord]:
        """A new tenure: runs a previous tenure left ``running`` end ``interrupted``."""
        self._next.clear()
        token = fence.token if fence is not None else None
        left = [
            r
            for r in self.wiring.ws.store.schedule_runs.running()
            if token is None or r.fencing_token != token
        ]
        with self._lock:
            ours = {r.run_id for runs in self._running.values() for r in runs}
        left = [r for r in left if r.id not in ours]
        for record in left:
            self.wiring.ws.store.schedule_runs.finish(
                record.id, "interrupted", detail=f"{record.claimed_by} stopped leading mid-run"
            )
        return left

    def tick(self, fence: Fence | None) -> list[Fire]:
        """Claim and start every due tick now; the ticks this call claimed to run."""
        store = self.wiring.ws.store
        now = self.wiring.ws.clock.now()
        schedules = self.wiring.ws.project.schedules
        last_ticks: dict[str, datetime] | None = None
        started: list[Fire] = []
        for name, schedule in schedules.items():
            cached = self._next.get(name)
            if cached is not None and cached[0] == schedule and now < cached[1]:
                continue  # nothing due before the next firing computed last time
            if last_ticks is None:
                last_ticks = store.schedule_runs.last_ticks()
            last = last_ticks.get(name)
            decided = plan(schedule, last=last, now=now)
            if decided.missed:
                self._missed(
                    name,
                    schedule,
                    decided.missed_first,
                    decided.missed_last,
                    fence,
                    record=not decided.run,
                )
            for fire in decided.run:
                if self._start(name, schedule, fire, fence):
                    started.append(fire)
            upcoming = next(iter(fires(schedule.cron, schedule.timezone, schedule.dst, after=now)))
            newest = decided.run[-1].at if decided.run else decided.missed_last or last
            self._next[name] = (schedule, upcoming.at, newest)
        return started

    def _missed(
        self,
        name: str,
        schedule: Schedule,
        first: datetime | None,
        last: datetime | None,
        fence: Fence | None,
        *,
        record: bool,
    ) -> None:
        assert last is not None
        if record:
            # Nothing runs: a record marks the missed ticks as dealt with, once.
            claimed = self.wiring.ws.store.schedule_runs.claim(
                name,
                last,
                claimed_by=self.identity,
                status="missed",
                detail=f"missed since {first.isoformat() if first else last.isoformat()}",
                fence=fence,
            )
            if claimed is None:
                return  # another control plane reported them
        self.wiring.ws.store.events.append(
            events.SCHEDULE_MISSED,
            source=events.SOURCE_SCHEDULES,
            subject=name,
            data={
                "schedule": name,
                "policy": schedule.missed.policy,
                "first": first.isoformat() if first else None,
                "last": last.isoformat(),
            },
            actor=f"schedule:{name}",
            fence=fence,
        )

    def _start(self, name: str, schedule: Schedule, fire: Fire, fence: Fence | None) -> bool:
        store = self.wiring.ws.store
        with self._lock:
            running = [r for r in self._running.get(name, []) if not r.done.is_set()]
            self._running[name] = running
        if running and schedule.concurrency == "forbid":
            claimed = store.schedule_runs.claim(
                name,
                fire.at,
                claimed_by=self.identity,
                status="skipped",
                detail="concurrency: forbid; the previous run still runs",
                fence=fence,
            )
            if claimed is not None:
                self._event(events.SCHEDULE_SKIPPED, name, fire, fence, {"run_id": claimed.id})
            return False
        claimed = store.schedule_runs.claim(name, fire.at, claimed_by=self.identity, fence=fence)
        if claimed is None:
            return False  # another control plane claimed this tick
        if running and schedule.concurrency == "replace":
            for old in running:
                old.context.cancel.set()
                store.schedule_runs.finish(old.run_id, "replaced", detail=f"by run {claimed.id}")
                self._event(events.SCHEDULE_REPLACED, name, fire, fence, {"run_id": old.run_id})
        announced = self._event(
            events.SCHEDULE_RUN,
            name,
            fire,
            fence,
            {"run_id": claimed.id, "action": schedule.action, "claimed_by": self.identity},
        )
        context = ActionContext(
            self.wiring, Cause("schedule", name, event_id=announced, tick=fire.at)
        )
        run = _Running(claimed.id, context)
        with self._lock:
            self._running.setdefault(name, []).append(run)
        self._spawn(lambda: self._run(schedule, run))
        return True

    def _run(self, schedule: Schedule, run: _Running) -> None:
        runs = self.wiring.ws.store.schedule_runs
        try:
            cause = run.context.cause
            if cause.event_id is not None:
                # Every event the action records links to the tick's schedule.run event
                # (CloudEvents causation/correlation: `roost events trace` shows the tree).
                link = causation.Cause(
                    correlation_id=cause.event_id,
                    causation_id=cause.event_id,
                    depth=0,
                    caused_by=cause.actor,
                )
                with causation.caused_by(link):
                    result = run_action(schedule.action, schedule.params, run.context)
            else:
                result = run_action(schedule.action, schedule.params, run.context)
            if run.context.cancel.is_set():
                status = "replaced"
            else:
                status = "succeeded" if result.ok else "failed"
            runs.finish(run.run_id, status, detail=result.message)
        except (StaleFencingToken, OperationError) as exc:
            runs.finish(run.run_id, "interrupted", detail=str(exc))
        except StoreError as exc:
            log.warning("schedule run %s: %s", run.run_id, exc)
        finally:
            run.done.set()

    def _event(
        self, type_: str, name: str, fire: Fire, fence: Fence | None, data: dict[str, object]
    ) -> str | None:
        try:
            record = self.wiring.ws.store.events.append(
                type_,
                source=events.SOURCE_SCHEDULES,
                subject=name,
                data={
                    "schedule": name,
                    "tick": fire.at.isoformat(),
                    "wall": fire.wall.isoformat(),
                    "note": fire.note,
                    **data,
                },
                actor=f"schedule:{name}",
                fence=fence,
            )
        except StaleFencingToken:
            raise
        except StoreError as exc:
            log.warning("schedule %s: event not recorded: %s", name, exc)
            return None
        return record.id

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait for every started run to finish (shutdown, tests); whether they all did."""
        with self._lock:
            runs = [r for rs in self._running.values() for r in rs]
        return all(r.done.wait(timeout) for r in runs)

    def __repr__(self) -> str:
        return f"ScheduleRunner({self.identity!r}, schedules={len(self._next)})"
