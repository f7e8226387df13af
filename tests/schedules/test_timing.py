"""When schedules fire across both DST transitions of three zones — America/New_York and
Europe/London (one-hour shifts) and Australia/Lord_Howe (a 30-minute shift) — for each gap and
overlap policy. The cron time is chosen inside the gap / overlap of each zone."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from roost.schedules import classify, fires, next_fires
from roost.spec.schedules import DstPolicy

# zone, transition date, cron minute hour inside the gap, expected local time of the first
# valid minute after the gap (its UTC offset after the change)
GAPS = [
    ("America/New_York", date(2026, 3, 8), "30 2", "03:00", timedelta(hours=-4)),
    ("Europe/London", date(2026, 3, 29), "30 1", "02:00", timedelta(hours=1)),
    ("Australia/Lord_Howe", date(2026, 10, 4), "15 2", "02:30", timedelta(hours=11)),
]
# zone, transition date, cron inside the overlap, the two offsets (first pass, second pass)
OVERLAPS = [
    ("America/New_York", date(2026, 11, 1), "30 1", timedelta(hours=-4), timedelta(hours=-5)),
    ("Europe/London", date(2026, 10, 25), "30 1", timedelta(hours=1), timedelta(0)),
    (
        "Australia/Lord_Howe",
        date(2026, 4, 5),
        "45 1",
        timedelta(hours=11),
        timedelta(hours=10, minutes=30),
    ),
]
IDS = ["new_york", "london", "lord_howe"]


def _on(day: date, zone: str, cron: str, policy: DstPolicy) -> list[datetime]:
    """The firings whose local date is ``day``, as local aware datetimes."""
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz) - timedelta(days=1)
    out = []
    for fire in fires(f"{cron} * * *", zone, policy, after=start.astimezone(UTC)):
        local = fire.at.astimezone(tz)
        if local.date() > day:
            return out
        if local.date() == day:
            out.append(local)
    raise AssertionError("unreachable: fires is endless")


@pytest.mark.parametrize(("zone", "day", "cron", "valid", "offset"), GAPS, ids=IDS)
@pytest.mark.parametrize("overlap", ["once", "twice"])
def test_a_gap_is_skipped_or_run_at_the_next_valid_minute(
    zone: str, day: date, cron: str, valid: str, offset: timedelta, overlap: str
) -> None:
    skip = DstPolicy(gap="skip", overlap=overlap)  # type: ignore[arg-type]
    shift = DstPolicy(gap="next-valid-minute", overlap=overlap)  # type: ignore[arg-type]
    assert _on(day, zone, cron, skip) == []
    (moved,) = _on(day, zone, cron, shift)
    assert moved.strftime("%H:%M") == valid
    assert moved.utcoffset() == offset
    # The days around are untouched, and at the cron's own time.
    for policy in (skip, shift):
        (before,) = _on(day - timedelta(days=1), zone, cron, policy)
        (after,) = _on(day + timedelta(days=1), zone, cron, policy)
        minute, hour = cron.split()
        assert before.strftime("%H:%M") == after.strftime("%H:%M") == f"{int(hour):02}:{minute}"


@pytest.mark.parametrize(("zone", "day", "cron", "first", "second"), OVERLAPS, ids=IDS)
@pytest.mark.parametrize("gap", ["skip", "next-valid-minute"])
def test_an_overlap_runs_once_or_twice(
    zone: str, day: date, cron: str, first: timedelta, second: timedelta, gap: str
) -> None:
    once = _on(day, zone, cron, DstPolicy(gap=gap, overlap="once"))  # type: ignore[arg-type]
    twice = _on(day, zone, cron, DstPolicy(gap=gap, overlap="twice"))  # type: ignore[arg-type]
    assert [t.utcoffset() for t in once] == [first]
    assert [t.utcoffset() for t in twice] == [first, second]
    assert twice[0] == once[0]
    # Same wall time, a DST shift apart (30 minutes on Lord Howe, an hour elsewhere).
    assert twice[0].strftime("%H:%M") == twice[1].strftime("%H:%M")
    # (Subtracting in UTC: Python subtracts aware times of one zone as wall times.)
    assert twice[1].astimezone(UTC) - twice[0].astimezone(UTC) == first - second


@pytest.mark.parametrize(("zone", "day", "cron", "first", "second"), OVERLAPS, ids=IDS)
def test_every_minute_through_an_overlap_is_in_order_and_once(
    zone: str, day: date, cron: str, first: timedelta, second: timedelta
) -> None:
    """A sub-hourly cron with overlap: twice fires every wall minute of the overlap twice,
    still in increasing order, and nothing outside the overlap twice."""
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    policy = DstPolicy(gap="skip", overlap="twice")
    got = next_fires("*/5 * * * *", zone, policy, after=start, count=24 * 12 + 20)
    instants = [f.at for f in got]
    assert instants == sorted(set(instants))
    seconds = [f for f in got if f.note == "overlap-second"]
    assert len(seconds) == (first - second) // timedelta(minutes=5)
    assert all(b.at - a.at == timedelta(minutes=5) for a, b in itertools.pairwise(got))


@pytest.mark.parametrize(("zone", "day", "cron", "valid", "offset"), GAPS, ids=IDS)
def test_every_minute_through_a_gap_runs_once_after_it(
    zone: str, day: date, cron: str, valid: str, offset: timedelta
) -> None:
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    policy = DstPolicy(gap="next-valid-minute", overlap="once")
    got = next_fires("*/5 * * * *", zone, policy, after=start, count=60)
    instants = [f.at for f in got]
    assert instants == sorted(set(instants))  # the gap's minutes collapse into one
    moved = [f for f in got if f.note == "gap"]
    assert len(moved) == 1
    assert moved[0].at.astimezone(tz).strftime("%H:%M") == valid


def test_classify_names_the_three_cases() -> None:
    tz = ZoneInfo("Europe/London")
    assert classify(datetime(2026, 6, 1, 12, 0), tz)[0] == "normal"
    kind, at, _ = classify(datetime(2026, 3, 29, 1, 30), tz)
    assert (kind, at) == ("gap", datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    kind, first, second = classify(datetime(2026, 10, 25, 1, 30), tz)
    assert kind == "overlap"
    assert (first, second) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )


def test_starting_inside_an_overlap_still_sees_its_second_pass() -> None:
    """``after`` in the first pass of the overlap: earlier wall times come around again."""
    tz = ZoneInfo("America/New_York")
    after = datetime(2026, 11, 1, 1, 50, tzinfo=tz)  # fold 0: EDT
    got = next_fires(
        "10 1 * * *",
        "America/New_York",
        DstPolicy(gap="skip", overlap="twice"),
        after=after.astimezone(UTC),
        count=1,
    )
    assert got[0].at == datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert got[0].note == "overlap-second"
