"""What a schedule should do now: which ticks to run and which were missed.

The input is the schedule, the newest tick already claimed for it (from the run records;
None for a schedule never run) and ``now``. Ticks after the claimed one and not after ``now``
are *due*. Which of them run is the missed-run policy's call:

* ``none`` — only a tick on time runs (within ``starting_deadline``, default one minute);
* ``latest`` — the newest due tick runs (if within ``starting_deadline``, when set);
* ``all`` — every due tick runs, oldest first (within ``starting_deadline``; at most
  :data:`MAX_CATCH_UP`, the newest ones, so a month of downtime is not a storm of runs).

Due ticks that do not run are *missed* and reported (nothing is skipped silently). A schedule
never run starts from ``now`` minus :data:`ON_TIME`: a new schedule does not backfill.

The scan never walks the whole downtime: only the newest ticks can run, so it starts a little
before them (:func:`~roost.schedules.timing.recent_start`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from roost.schedules.timing import Fire, fires, recent_start
from roost.spec.schedules import Schedule

ON_TIME = timedelta(minutes=1)
"""How late a tick may start and still count as on time (policy ``none`` without a deadline)."""
MAX_CATCH_UP = 100
SCAN = 60
"""Firings beyond the ones that may run before a scan jumps ahead (see :func:`plan`)."""


@dataclass(frozen=True)
class Plan:
    """``run``: ticks to claim and run, oldest first. ``missed``: whether due ticks were not
    run, with the first one known and the newest (``missed_last``, which a run record marks
    as claimed so they are reported once)."""

    run: tuple[Fire, ...]
    missed_first: datetime | None = None
    missed_last: datetime | None = None

    @property
    def missed(self) -> bool:
        return self.missed_last is not None


def deadline_of(schedule: Schedule) -> timedelta | None:
    """How late a tick may start: the schedule's ``starting_deadline``, else one minute for
    policy ``none``, else no limit."""
    missed = schedule.missed
    if missed.starting_deadline is not None:
        return missed.starting_deadline
    return ON_TIME if missed.policy == "none" else None


def _due(schedule: Schedule, after: datetime, now: datetime, limit: int) -> list[Fire]:
    """Firings in (``after``, ``now``], at most ``limit`` of them (the oldest)."""
    due: list[Fire] = []
    for fire in fires(schedule.cron, schedule.timezone, schedule.dst, after=after):
        if fire.at > now or len(due) >= limit:
            break
        due.append(fire)
    return due


def plan(schedule: Schedule, *, last: datetime | None, now: datetime) -> Plan:
    """What to do at ``now``, given the newest claimed tick ``last`` (see the module doc)."""
    start = last if last is not None else now - ON_TIME
    if start >= now:
        return Plan(())
    keep = MAX_CATCH_UP if schedule.missed.policy == "all" else 1
    deadline = deadline_of(schedule)
    limit = keep + SCAN
    due = _due(schedule, start, now, limit)
    missed_first: datetime | None = None
    if len(due) >= limit:
        # A long downtime: only the newest ticks can run, so scan from just before them
        # rather than walking every tick since ``last``.
        missed_first = due[0].at
        scan_from = max(start, recent_start(schedule.cron, schedule.timezone, now=now, back=keep))
        due = _due(schedule, scan_from, now, 10 * limit)
    eligible = [f for f in due if deadline is None or now - f.at <= deadline][-keep:]
    skipped = [f.at for f in due if f not in eligible]
    if skipped and missed_first is None:
        missed_first = skipped[0]
    missed_last: datetime | None = None
    if missed_first is not None:
        missed_last = max(skipped) if skipped else missed_first
    return Plan(tuple(eligible), missed_first, missed_last)
