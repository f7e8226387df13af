"""Turning rollout data into JSON-able values and back.

The executor stores a rollout's state in ``RolloutRecord.data`` (a JSON column) and must get
back exactly what it stored after a crash, so every conversion here is lossless: datetimes
keep their offset (ISO 8601), durations are whole milliseconds (what the spec allows), and
missing values stay ``None`` instead of becoming zeros.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any


def dump_time(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 text (``None`` stays ``None``)."""
    return None if value is None else value.isoformat()


def load_time(value: Any) -> datetime | None:
    """The inverse of :func:`dump_time`; refuses naive times, which would compare wrongly."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no offset")
    return parsed


def need_time(value: Any) -> datetime:
    """Like :func:`load_time` for fields that are never empty."""
    parsed = load_time(value)
    if parsed is None:
        raise ValueError("a required time is missing")
    return parsed


def dump_delta(value: timedelta | None) -> int | None:
    """A duration as whole milliseconds."""
    return None if value is None else value // timedelta(milliseconds=1)


def load_delta(value: Any) -> timedelta | None:
    """The inverse of :func:`dump_delta`."""
    return None if value is None else timedelta(milliseconds=int(value))


def need_delta(value: Any) -> timedelta:
    """Like :func:`load_delta` for fields that are never empty."""
    parsed = load_delta(value)
    if parsed is None:
        raise ValueError("a required duration is missing")
    return parsed


def weights(value: Mapping[str, Any]) -> dict[str, int]:
    """A weight map with integer percentages, in a stable (sorted) order."""
    return {str(name): int(weight) for name, weight in sorted(value.items())}
