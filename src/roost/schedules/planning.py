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


def plan(schedule: Schedule, *, last: datetime | None, now: datetime) -> Plan:
    """What to do at ``now``, given the newest claimed tick ``last`` (see the module doc)."""
    start = last if last is not None else now - ON_TIME
    if start >= now:
        return Plan(())
    keep = MAX_CATCH_UP if schedule.missed.policy == "all" else 1
    deadline = deadline_of(schedule)
    scan_from = max(start, recent_start(schedule.cron, schedule.timezone, now=now, back=keep))
    due: list[Fire] = []
    for fire in fires(schedule.cron, schedule.timezone, schedule.dst, after=scan_from):
        if fire.at > now:
            break
        due.append(fire)
    eligible = [f for f in due if deadline is None or now - f.at <= deadline][-keep:]
    skipped = [f for f in due if f not in eligible]
    missed_first: datetime | None = skipped[0].at if skipped else None
    if scan_from > start:
        # Ticks before the scan were due too: find whether there were any.
        first = next(iter(fires(schedule.cron, schedule.timezone, schedule.dst, after=start)))
        if first.at <= scan_from or (skipped and first.at < skipped[0].at):
            missed_first = first.at
    missed_last: datetime | None = None
    if missed_first is not None:
        older = [f.at for f in skipped if not eligible or f.at < eligible[-1].at]
        missed_last = max(older) if older else scan_from
    return Plan(tuple(eligible), missed_first, missed_last)
