"""What runs after downtime, for each missed-run policy, with and without a starting deadline.
An hourly schedule in Europe/London; the control plane was away from 02:10 to 07:20 UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roost.schedules import MAX_CATCH_UP, plan
from roost.spec.schedules import Schedule

LAST = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 03:00 BST: the last tick claimed before
BACK = datetime(2026, 6, 1, 7, 20, tzinfo=UTC)  # ticks 03:00..07:00 UTC were due meanwhile


def _schedule(**missed: Any) -> Schedule:
    return Schedule.model_validate(
        {
            "cron": "0 * * * *",
            "timezone": "Europe/London",
            "dst": {"gap": "skip", "overlap": "once"},
            "missed": missed,
            "action": "stop-environment",
            "params": {"environment": "staging"},
        }
    )


def _hours(*hours: int) -> tuple[datetime, ...]:
    return tuple(datetime(2026, 6, 1, h, 0, tzinfo=UTC) for h in hours)


def test_none_runs_nothing_that_is_late_and_reports_the_missed_ticks() -> None:
    decided = plan(_schedule(policy="none"), last=LAST, now=BACK)
    assert decided.run == ()
    assert (decided.missed_first, decided.missed_last) == (_hours(3)[0], _hours(7)[0])


def test_none_still_runs_a_tick_on_time() -> None:
    decided = plan(_schedule(policy="none"), last=LAST, now=_hours(3)[0] + timedelta(seconds=20))
    assert tuple(f.at for f in decided.run) == _hours(3)
    assert not decided.missed


def test_latest_runs_only_the_newest_due_tick() -> None:
    decided = plan(_schedule(policy="latest"), last=LAST, now=BACK)
    assert tuple(f.at for f in decided.run) == _hours(7)
    assert (decided.missed_first, decided.missed_last) == (_hours(3)[0], _hours(6)[0])


def test_all_runs_every_due_tick_oldest_first() -> None:
    decided = plan(_schedule(policy="all"), last=LAST, now=BACK)
    assert tuple(f.at for f in decided.run) == _hours(3, 4, 5, 6, 7)
    assert not decided.missed


@pytest.mark.parametrize("policy", ["latest", "all"])
def test_the_starting_deadline_drops_ticks_that_are_too_late(policy: str) -> None:
    decided = plan(_schedule(policy=policy, starting_deadline="150m"), last=LAST, now=BACK)
    # 07:20 - 150m = 04:50: only 05:00, 06:00 and 07:00 may still start.
    expected = _hours(7) if policy == "latest" else _hours(5, 6, 7)
    assert tuple(f.at for f in decided.run) == expected
    assert decided.missed_first == _hours(3)[0]
    deadline_only = plan(_schedule(policy=policy, starting_deadline="10m"), last=LAST, now=BACK)
    assert deadline_only.run == ()
    assert deadline_only.missed_last == _hours(7)[0]  # the cursor moves past them all


def test_all_catches_up_at_most_a_bounded_number_of_ticks() -> None:
    long_ago = LAST - timedelta(days=30)
    decided = plan(_schedule(policy="all"), last=long_ago, now=BACK)
    assert len(decided.run) == MAX_CATCH_UP
    assert decided.run[-1].at == _hours(7)[0]
    assert decided.missed_first == long_ago + timedelta(hours=1)


def test_a_new_schedule_does_not_backfill() -> None:
    decided = plan(_schedule(policy="all"), last=None, now=BACK)
    assert decided.run == ()
    assert not decided.missed
    on_the_hour = plan(_schedule(policy="all"), last=None, now=_hours(7)[0] + timedelta(seconds=5))
    assert tuple(f.at for f in on_the_hour.run) == _hours(7)


def test_nothing_is_due_twice() -> None:
    decided = plan(_schedule(policy="all"), last=_hours(7)[0], now=BACK)
    assert decided.run == ()
    assert not decided.missed
