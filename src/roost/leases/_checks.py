"""Argument checks every backend shares, so bad input fails the same way everywhere."""

from __future__ import annotations

import math

NAME_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500


def require_name(value: str, what: str = "lease name") -> str:
    """A non-empty string of at most 200 characters without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > NAME_MAX_LENGTH:
        raise ValueError(f"{what} is longer than {NAME_MAX_LENGTH} characters: {value[:40]!r}…")
    if any(ord(char) < 32 for char in value):
        raise ValueError(f"{what} must not contain control characters, got {value!r}")
    return value


def require_reason(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a lease reason must be a non-empty string or None, got {value!r}")
    if len(value) > REASON_MAX_LENGTH:
        raise ValueError(f"a lease reason is longer than {REASON_MAX_LENGTH} characters")
    return value


def require_duration(value: float, what: str = "duration_seconds") -> float:
    """A positive, finite number of seconds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)
