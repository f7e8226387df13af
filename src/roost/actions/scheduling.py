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

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roost._util import event_catalog as events
from roost.actions.protocol import ActionContext, Cause
from roost.actions.registry import run_action
from roost.control.errors import OperationError
from roost.control.wiring import Wiring
from roost.schedules import Fire, Plan, fires, plan
from roost.spec.schedules import Schedule
from roost.store import (
    Claim,
    EventRecord,
    Fence,
    ScheduleRunRecord,
    StaleFencingToken,
    StoreError,
    causation,
)

log = logging.getLogger("roost.actions.scheduling")

Spawn = Callable[[Callable[[], None]], None]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


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
        self._next: dict[str, tuple[Schedule, datetime]] = {}

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
        """Claim and start every due tick now; the ticks this call claimed to run.

        One tick of the loop is three writes however many schedules fire in it: the claims
        (one fenced transaction), their events (one transaction), then each action's own."""
        store = self.wiring.ws.store
        now = self.wiring.ws.clock.now()
        last_ticks: dict[str, datetime] | None = None
        work: list[tuple[str, Schedule, Plan]] = []
        for name, schedule in self.wiring.ws.project.schedules.items():
            cached = self._next.get(name)
            # ``is`` first: comparing two models field by field, 10,000 times a second, is
            # most of an idle tick's cost.
            same = cached is not None and (cached[0] is schedule or cached[0] == schedule)
            if cached is not None and same and now < cached[1]:
                continue  # nothing due before the next firing computed last time
            if last_ticks is None:
                last_ticks = store.schedule_runs.last_ticks()
            decided = plan(schedule, last=last_ticks.get(name), now=now)
            upcoming = next(iter(fires(schedule.cron, schedule.timezone, schedule.dst, after=now)))
            self._next[name] = (schedule, upcoming.at)
            if decided.run or decided.missed:
                work.append((name, schedule, decided))
        if not work:
            return []
        claimed = store.schedule_runs.claim_many(
            [
                claim
                for name, schedule, decided in work
                for claim in self._claims(name, schedule, decided)
            ],
            claimed_by=self.identity,
            fence=fence,
        )
        notes: list[tuple[str, str, str | None, Any]] = []
        starting: list[tuple[str, Schedule, list[tuple[Fire, ScheduleRunRecord]]]] = []
        for name, schedule, decided in work:
            mine = [(f, claimed[(name, f.at)]) for f in decided.run if (name, f.at) in claimed]
            if decided.missed and (mine or (name, decided.missed_last) in claimed):
                notes.append(
                    self._note(
                        events.SCHEDULE_MISSED,
                        name,
                        None,
                        {
                            "policy": schedule.missed.policy,
                            "first": _iso(decided.missed_first),
                            "last": _iso(decided.missed_last),
                        },
                    )
                )
            runs = []
            for fire, record in mine:
                if record.status == "running":
                    runs.append((fire, record))
                    notes.append(
                        self._note(
                            events.SCHEDULE_RUN,
                            name,
                            fire,
                            {
                                "run_id": record.id,
                                "action": schedule.action,
                                "claimed_by": self.identity,
                            },
                        )
                    )
                else:
                    notes.append(
                        self._note(
                            events.SCHEDULE_SKIPPED,
                            name,
                            fire,
                            {
                                "run_id": record.id,
                                "why": record.detail,
                            },
                        )
                    )
            if runs:
                starting.append((name, schedule, runs))
        recorded = self._record(notes)
        announced = {
            (e.subject, e.data.get("run_id")): e.id
            for e in recorded
            if e.type == events.SCHEDULE_RUN
        }
        started: list[Fire] = []
        for name, schedule, runs in starting:
            contexts = [
                _Running(
                    record.id,
                    ActionContext(
                        self.wiring,
                        Cause(
                            "schedule",
                            name,
                            event_id=announced.get((name, record.id)),
                            tick=fire.at,
                        ),
                    ),
                )
                for fire, record in runs
            ]
            self._replace(name, schedule, contexts, fence)
            with self._lock:
                self._running.setdefault(name, []).extend(contexts)
            # Several ticks of one schedule due at once (catching up) run one after the
            # other: concurrency is about runs of a schedule overlapping, these would.
            self._spawn(functools.partial(self._run_all, schedule, contexts))
            started += [fire for fire, _ in runs]
        return started

    def _claims(self, name: str, schedule: Schedule, decided: Plan) -> list[Claim]:
        claims = []
        if decided.missed and not decided.run and decided.missed_last is not None:
            # Nothing runs: a record marks the missed ticks as dealt with, once.
            since = decided.missed_first or decided.missed_last
            claims.append(
                Claim(name, decided.missed_last, "missed", f"missed since {since.isoformat()}")
            )
        with self._lock:
            busy = any(not r.done.is_set() for r in self._running.get(name, []))
        runs = list(decided.run)
        if schedule.concurrency == "replace" and len(runs) > 1:
            # Catching up with replace: each would cancel the one before; only the newest runs.
            claims += [Claim(name, f.at, "skipped", "replaced by a newer tick") for f in runs[:-1]]
            runs = runs[-1:]
        for fire in runs:
            if busy and schedule.concurrency == "forbid":
                claims.append(
                    Claim(
                        name, fire.at, "skipped", "concurrency: forbid; the previous run still runs"
                    )
                )
            else:
                claims.append(Claim(name, fire.at))
        return claims

    def _replace(
        self, name: str, schedule: Schedule, new: list[_Running], fence: Fence | None
    ) -> None:
        """concurrency: replace — cancel what still runs of ``name`` (its records end replaced)."""
        if schedule.concurrency != "replace":
            return
        with self._lock:
            old = [r for r in self._running.get(name, []) if not r.done.is_set()]
        for run in old:
            run.context.cancel.set()
            self.wiring.ws.store.schedule_runs.finish(
                run.run_id, "replaced", detail=f"by run {new[-1].run_id}"
            )
        if old:
            self._record(
                [
                    self._note(
                        events.SCHEDULE_REPLACED,
                        name,
                        None,
                        {
                            "run_ids": [r.run_id for r in old],
                            "by": new[-1].run_id,
                        },
                    )
                ]
            )

    def _note(
        self, type_: str, name: str, fire: Fire | None, data: dict[str, Any]
    ) -> tuple[str, str, str | None, Any]:
        when = (
            {}
            if fire is None
            else {"tick": fire.at.isoformat(), "wall": fire.wall.isoformat(), "note": fire.note}
        )
        return (type_, events.SOURCE_SCHEDULES, name, {"schedule": name, **when, **data})

    def _record(self, notes: list[tuple[str, str, str | None, Any]]) -> list[EventRecord]:
        if not notes:
            return []
        try:
            return self.wiring.ws.store.events.append_many(notes, actor=self.identity)
        except StoreError as exc:
            # The claims are in; their events are the audit of it. Say so and go on: the
            # actions' own audit events still record each run with its schedule and tick.
            log.warning("schedule events not recorded: %s", exc)
            return []

    def _run_all(self, schedule: Schedule, runs: list[_Running]) -> None:
        for run in runs:
            self._run(schedule, run)

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

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait for every started run to finish (shutdown, tests); whether they all did."""
        with self._lock:
            runs = [r for rs in self._running.values() for r in rs]
        return all(r.done.wait(timeout) for r in runs)

    def __repr__(self) -> str:
        return f"ScheduleRunner({self.identity!r}, schedules={len(self._next)})"
