"""Validation of five-field cron expressions (``minute hour day-of-month month day-of-week``).

Only validation lives here: the spec must reject ``0 25 * * *`` with a located message. Computing
the next firing time is the scheduler's job.
"""

from __future__ import annotations

import re

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_ITEM = re.compile(r"(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?")


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid cron expression, or ``None`` when it is."""
    text = expression.strip().lower()
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {expression.strip()!r}"
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for value, (what, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in value.split(","):
            problem = _item_problem(item, what, low, high, names)
            if problem:
                return problem
    return None


def _item_problem(item: str, what: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    match = _ITEM.fullmatch(item)
    if match is None:
        return f"{item!r} is not a valid {what}"
    span, step = match.groups()
    if step is not None and int(step) == 0:
        return f"step 0 in {item!r}"
    bounds: list[int] = []
    for part in [] if span == "*" else span.split("-"):
        if part.isdigit():
            number = int(part)
        elif part in names:
            number = names.index(part) + low
        else:
            return f"{part!r} is not a valid {what}"
        if not low <= number <= high:
            return f"{what} {number} is out of range {low}-{high}"
        bounds.append(number)
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        return f"range {span!r} goes backwards"
    return None
