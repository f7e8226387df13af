"""OpenSLO's ``duration-shorthand``: a positive integer and one case-sensitive unit.

The v1 specification allows ``m`` (minutes), ``h``, ``d``, ``w``, ``M`` (months), ``Q``
(quarters) and ``Y`` (years), and leaves it to implementers how long a month is. roost's windows
roll, so a calendar unit becomes a fixed number of days (``1M`` = 30d, ``1Q`` = 90d, ``1Y`` =
365d) and the import says so. Reading is lenient (roost's own ``30s``/``1h30m`` spellings are
accepted too: a file written by hand should not be refused for a unit the reader understands);
writing is strict, so every exported duration is valid shorthand.
"""

from __future__ import annotations

import re
from datetime import timedelta

from roost.spec.durations import parse_duration

_SHORTHAND = re.compile(r"([1-9][0-9]*)([mhdwMQY])")

_FIXED: dict[str, timedelta] = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
CALENDAR_DAYS: dict[str, int] = {"M": 30, "Q": 90, "Y": 365}
"""How many days a rolling month, quarter and year last in roost."""

_NAMES = {"M": "month", "Q": "quarter", "Y": "year"}


def read_shorthand(text: str) -> tuple[timedelta, str | None]:
    """``"1M"`` → (30 days, a note saying so); ``"4w"`` → (28 days, None).

    Raises ``ValueError`` naming the text and the units OpenSLO allows.
    """
    stripped = str(text).strip()
    match = _SHORTHAND.fullmatch(stripped)
    if match is not None:
        count, unit = int(match.group(1)), match.group(2)
        if unit in CALENDAR_DAYS:
            days = count * CALENDAR_DAYS[unit]
            plural = "s" if count != 1 else ""
            note = (
                f"{stripped} ({count} {_NAMES[unit]}{plural}) is read as a rolling {days}d window"
            )
            return timedelta(days=days), note
        return count * _FIXED[unit], None
    try:
        return parse_duration(stripped), None
    except ValueError:
        raise ValueError(
            f'"{stripped}" is not a duration (OpenSLO shorthand: a positive whole number and '
            "one of m, h, d, w, M, Q, Y, e.g. 5m, 1h, 28d, 4w, 1M, 1Q, 1Y)"
        ) from None


def write_shorthand(value: timedelta) -> str:
    """The shorthand for ``value`` in the largest unit that divides it (``28d``, ``90m``).

    Raises ``ValueError`` when it is not a positive whole number of minutes: the shorthand has
    no seconds.
    """
    minutes, rest = divmod(value, timedelta(minutes=1))
    if rest or minutes <= 0:
        raise ValueError(
            f"{value} cannot be written as an OpenSLO duration (whole minutes, at least 1m)"
        )
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"
