"""Durations as people write them in config: ``30s``, ``5m``, ``1h30m``, ``500ms``, ``1d``.

Units must come in decreasing order (``d``, ``h``, ``m``, ``s``, ``ms``), each at most once, with
whole numbers; a plain integer (in YAML: ``timeout: 30``) is seconds. There are no fractions
(``1.5m``) and no negative durations: ``90s`` says the same thing unambiguously, and a negative
timeout is always a mistake.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from roost.spec._issues import issue_error

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1))

DURATION_PATTERN = r"^([0-9]+|(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m(?!s))?([0-9]+s)?([0-9]+ms)?)$"
"""What a duration string looks like (a plain number of seconds is allowed too)."""

_DURATION = re.compile(
    r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m(?!s))?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_EXAMPLES = "use e.g. 30s, 5m, 1h30m"


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → ``timedelta(hours=1, minutes=30)``; a string of digits is seconds.

    Raises ``ValueError`` with a message naming the text, e.g.
    ``"5x" is not a duration (use e.g. 30s, 5m, 1h30m)``.
    """
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        stripped += "s"
    match = _DURATION.fullmatch(stripped)
    if not stripped or match is None:
        raise ValueError(f"{_quote(text)} is not a duration ({_EXAMPLES})")
    millis = sum(
        int(n) * factor for n, (_, factor) in zip(match.groups(), _UNITS, strict=True) if n
    )
    try:
        return timedelta(milliseconds=millis)
    except OverflowError:
        raise ValueError(f"{_quote(text)} is too long a duration") from None


def format_duration(value: timedelta) -> str:
    """The shortest canonical spelling: ``timedelta(minutes=90)`` → ``"1h30m"``, zero → ``"0s"``."""
    millis = value // timedelta(milliseconds=1)
    if millis == 0:
        return "0s"
    sign, millis = ("-", -millis) if millis < 0 else ("", millis)
    parts = []
    for unit, factor in _UNITS:
        count, millis = divmod(millis, factor)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_span(value: timedelta) -> str:
    """In the largest unit that divides it (whole seconds): ``timedelta(minutes=90)`` →
    ``"90m"``, two hours → ``"2h"``; how SLO windows are named in messages."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):  # bool is an int: `timeout: yes` must not mean one second
        raise issue_error(f"expected a duration, got {str(value).lower()}", hint=_EXAMPLES)
    elif isinstance(value, int):
        try:
            result = timedelta(seconds=value)
        except OverflowError:
            raise issue_error(f"{value} seconds is too long a duration") from None
    elif isinstance(value, str):
        try:
            result = parse_duration(value)
        except ValueError:
            raise issue_error(f"{_quote(value)} is not a duration", hint=_EXAMPLES) from None
    elif isinstance(value, float):
        raise issue_error(
            f"{value} is not a duration", hint="write whole units, e.g. 1500ms or 1m30s"
        )
    else:
        raise issue_error(f"expected a duration, got {type(value).__name__}", hint=_EXAMPLES)
    if result < timedelta(0):
        raise issue_error("a duration cannot be negative")
    if result % timedelta(milliseconds=1):
        raise issue_error("durations are counted in whole milliseconds")
    return result


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise issue_error("must be longer than 0s")
    return value


_JSON_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": DURATION_PATTERN, "examples": ["30s", "5m", "1h30m"]},
        {"type": "integer", "minimum": 0, "description": "seconds"},
    ]
}

Duration = Annotated[
    timedelta,
    BeforeValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(_JSON_SCHEMA),
]
"""A non-negative duration: ``30s``, ``5m``, ``1h30m``, ``500ms``, ``1d`` or integer seconds."""

PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
"""A :data:`Duration` longer than zero (periods, timeouts, windows)."""
