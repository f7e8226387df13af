"""Checking values before they reach the driver, so mistakes fail with a clear message."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def json_value(value: Any, what: str) -> Any:
    """``value`` as it will read back from a JSON column (tuples become lists, keys strings);
    a clear ``TypeError`` if it cannot be stored as JSON."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable: {exc}") from None


def json_object(value: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    """A JSON object (``None`` → ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping, got {type(value).__name__}")
    result = json_value(dict(value), what)
    assert isinstance(result, dict)
    return result


def require_text(value: str, what: str, *, max_length: int) -> str:
    """A non-empty string no longer than the column allows."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > max_length:
        raise ValueError(f"{what} is longer than {max_length} characters: {value[:40]!r}…")
    return value


def require_aware(value: datetime, what: str) -> datetime:
    """A timezone-aware datetime (the store never guesses a naive one's zone)."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value
