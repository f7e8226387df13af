"""Our cron search agrees with croniter's, minute for minute, on the syntax roost.yaml accepts
(lists, ranges, steps, names, macros, day-of-month OR day-of-week, 29 February)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from croniter import croniter

from roost.schedules.crontab import parse

EXPRESSIONS = [
    "*/5 * * * *",
    "0 20 * * MON-FRI",
    "15 9 1 * *",
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
    "@yearly",
    "0 0 29 2 *",
    "0 0 1 * 0",
    "0 0 * * 7",
    "30 2 * * *",
    "*/7 3-5 */2 * *",
    "0 12 1,15 * FRI",
    "59 23 31 12 *",
    "5,10 */3 * 1-6 1-5",
    "0 0 */2 * 1",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_next_and_previous_match_croniter(expression: str) -> None:
    spec = parse(expression)
    pick = random.Random(expression)
    for _ in range(200):
        at = datetime(2020, 1, 1) + timedelta(
            minutes=pick.randrange(60 * 24 * 365 * 8), seconds=pick.choice([0, 0, 17])
        )
        assert spec.next_after(at) == croniter(expression, at).get_next(datetime), at
        assert spec.prev_before(at) == croniter(expression, at).get_prev(datetime), at
