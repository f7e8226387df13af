"""A cron expression as sets of minutes, hours, days, months and weekdays, and the next (or
previous) matching wall-clock minute — about ten times cheaper than asking croniter each time,
which matters when a new leader plans 10,000 schedules in one tick.

Parsing is croniter's (``croniter.expand``, cached per expression), so the accepted syntax is
the one roost.yaml validates; only the search is ours. Day-of-month and day-of-week combine as
in Vixie cron and croniter: when both are restricted, a day matching either fires.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from croniter import croniter

SEARCH_DAYS = 366 * 8 + 2
"""How far a search looks (a 29 February on a Monday can be years away)."""


def _values(field: Sequence[int | str]) -> frozenset[int] | None:
    return None if "*" in field else frozenset(int(v) for v in field)


@dataclass(frozen=True, slots=True)
class CronSpec:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # 0 = Sunday, as cron counts

    def day_matches(self, day: date) -> bool:
        if self.months is not None and day.month not in self.months:
            return False
        in_month = self.days is None or day.day in self.days
        in_week = self.weekdays is None or day.isoweekday() % 7 in self.weekdays
        if self.days is not None and self.weekdays is not None:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, after: datetime) -> datetime:
        """The first matching minute strictly after the naive ``after``."""
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = t.date()
        for offset in range(SEARCH_DAYS):
            if self.day_matches(day):
                first = offset == 0
                for hour in self.hours[bisect_left(self.hours, t.hour) if first else 0 :]:
                    if first and hour == t.hour:
                        i = bisect_left(self.minutes, t.minute)
                        if i == len(self.minutes):
                            continue
                        minute = self.minutes[i]
                    else:
                        minute = self.minutes[0]
                    return datetime(day.year, day.month, day.day, hour, minute)  # noqa: DTZ001 - wall time
            day += timedelta(days=1)
        raise ValueError("the cron expression matches no minute in the next eight years")

    def prev_before(self, before: datetime) -> datetime:
        """The last matching minute strictly before the naive ``before``."""
        t = before.replace(second=0, microsecond=0)
        if t == before:
            t -= timedelta(minutes=1)
        day = t.date()
        for offset in range(SEARCH_DAYS):
            if self.day_matches(day):
                first = offset == 0
                hours = self.hours[: bisect_right(self.hours, t.hour)] if first else self.hours
                for hour in reversed(hours):
                    if first and hour == t.hour:
                        i = bisect_right(self.minutes, t.minute)
                        if i == 0:
                            continue
                        minute = self.minutes[i - 1]
                    else:
                        minute = self.minutes[-1]
                    return datetime(day.year, day.month, day.day, hour, minute)  # noqa: DTZ001 - wall time
            day -= timedelta(days=1)
        raise ValueError("the cron expression matches no minute in the last eight years")


@lru_cache(maxsize=4096)
def parse(expression: str) -> CronSpec:
    """``expression`` (five fields or a macro) as a :class:`CronSpec`."""
    fields, _ = croniter.expand(expression)
    minutes, hours, days, months, weekdays = fields
    every_minute = list(range(60))
    every_hour = list(range(24))
    return CronSpec(
        minutes=tuple(sorted(every_minute if "*" in minutes else {int(v) for v in minutes})),
        hours=tuple(sorted(every_hour if "*" in hours else {int(v) for v in hours})),
        days=_values(days),
        months=_values(months),
        weekdays=None if "*" in weekdays else frozenset(int(v) % 7 for v in weekdays),
    )
