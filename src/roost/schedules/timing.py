"""When a schedule fires: cron read in wall-clock time of an IANA zone, mapped to UTC instants
with the schedule's explicit DST policy.

A cron expression names wall-clock minutes. Most map to exactly one instant. Twice a year they
do not: in the spring-forward *gap* a wall time does not exist (``dst.gap``: ``skip`` it, or
``next-valid-minute``: run at the first minute after the gap, once however many cron minutes
fell into it), and in the fall-back *overlap* it happens twice (``dst.overlap``: ``once`` at
the first, or ``twice``). Australia/Lord_Howe moves by 30 minutes, which is why nothing here
assumes transitions are an hour long: gaps and overlaps are found from the zone's own offsets.

Cron minutes come from :mod:`~roost.schedules.crontab`. Pure: no clock, no I/O.
:func:`fires` yields instants in increasing order, each at most once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from roost.schedules.crontab import parse
from roost.spec.schedules import DstPolicy

Note = Literal["", "gap", "overlap-second"]
MINUTE = timedelta(minutes=1)
SAFETY = timedelta(hours=3)
"""Longer than any DST shift (Lord Howe: 30 minutes; most: 1 hour; a few historical: 2 hours):
how far back a scan starts so that no second pass of an overlap is missed."""


@dataclass(frozen=True, slots=True)
class Fire:
    """One firing: ``at`` the UTC instant, ``wall`` the local wall time the cron named (for a
    gap moved to the next valid minute, ``at`` is later than ``wall`` says), ``note`` why an
    instant is unusual (``gap``, ``overlap-second``)."""

    at: datetime
    wall: datetime
    note: Note = ""


@lru_cache(maxsize=1024)
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def classify(wall: datetime, zone: ZoneInfo) -> tuple[str, datetime, datetime]:
    """``("normal", at, at)``, ``("gap", first_valid_instant, first_valid_instant)`` or
    ``("overlap", first, second)`` for the naive local ``wall`` time."""
    a = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if a == b:
        return "normal", a, a
    if _local(a, zone) == wall and _local(b, zone) == wall:
        first, second = min(a, b), max(a, b)
        return "overlap", first, second
    # A gap: the wall time does not exist. The first valid minute after it is the transition:
    # the smallest instant whose local time is past ``wall`` (search by minutes between the
    # two readings, which straddle it).
    lo, hi = min(a, b), max(a, b)
    while hi - lo > MINUTE:
        mid = lo + (hi - lo) / 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= lo:
            mid = lo + MINUTE
        if _local(mid, zone) > wall:
            hi = mid
        else:
            lo = mid
    return "gap", hi, hi


def fires(cron: str, zone_name: str, dst: DstPolicy, *, after: datetime) -> Iterator[Fire]:
    """Every firing strictly after ``after`` (aware), in increasing order (endless)."""
    zone = zone_of(zone_name)
    start = _local(after, zone)
    if classify(start.replace(second=0, microsecond=0), zone)[0] == "overlap":
        start -= SAFETY  # in an overlap's first pass: earlier walls fire again in the second
    spec = parse(cron)
    wall = start - MINUTE
    pending: deque[Fire] = deque()
    last = after
    while True:
        wall = spec.next_after(wall)
        kind, first, second = classify(wall, zone)
        if kind == "gap" and dst.gap == "skip":
            continue
        note: Note = "gap" if kind == "gap" else ""
        if kind == "overlap" and dst.overlap == "twice":
            pending.append(Fire(second, wall, "overlap-second"))
        while pending and pending[0].at < first:
            held = pending.popleft()
            if held.at > last:
                last = held.at
                yield held
        if first > last:
            last = first
            yield Fire(first, wall, note)


def next_fires(
    cron: str, zone_name: str, dst: DstPolicy, *, after: datetime, count: int
) -> list[Fire]:
    """The next ``count`` firings after ``after``."""
    out = []
    for fire in fires(cron, zone_name, dst, after=after):
        out.append(fire)
        if len(out) >= count:
            break
    return out


def recent_start(cron: str, zone_name: str, *, now: datetime, back: int) -> datetime:
    """An instant no later than the ``back``-th newest firing at or before ``now`` (a scan from
    here sees the newest ``back`` firings without walking the whole downtime)."""
    zone = zone_of(zone_name)
    # Walls from a little after ``now`` (an offset can put a later wall before ``now``).
    spec = parse(cron)
    wall = _local(now, zone) + SAFETY
    found = 0
    while True:
        wall = spec.prev_before(wall)
        at = classify(wall, zone)[1]
        if at <= now:
            found += 1
            if found >= back:
                return at - SAFETY
