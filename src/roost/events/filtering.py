"""CloudEvents Subscriptions API filters, evaluated on an envelope (pure).

``exact``/``prefix``/``suffix`` hold when *every* named attribute matches; an attribute the
event does not have never matches (the spec: a missing attribute fails the expression).
``data.a.b`` reaches into the event's JSON data. Values compare as strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roost.spec.triggers import Filter

_MISSING = object()


def attribute(envelope: dict[str, Any], name: str) -> str | None:
    """The string value of ``name`` (an attribute or ``data.x.y``) in ``envelope``; None if
    the event does not have it."""
    if name.startswith("data."):
        value: Any = envelope.get("data")
        for part in name.split(".")[1:]:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
    else:
        value = envelope.get(name, _MISSING)
        if value is _MISSING:
            return None
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def matches(filters: Sequence[Filter], envelope: dict[str, Any]) -> bool:
    """Whether ``envelope`` passes every filter (no filters: every event passes)."""
    return all(_one(f, envelope) for f in filters)


def _one(f: Filter, envelope: dict[str, Any]) -> bool:
    if f.exact is not None:
        return all(attribute(envelope, k) == v for k, v in f.exact.items())
    if f.prefix is not None:
        return all(_starts(attribute(envelope, k), v) for k, v in f.prefix.items())
    if f.suffix is not None:
        return all(_ends(attribute(envelope, k), v) for k, v in f.suffix.items())
    if f.all is not None:
        return all(_one(sub, envelope) for sub in f.all)
    if f.any is not None:
        return any(_one(sub, envelope) for sub in f.any)
    assert f.not_ is not None
    return not _one(f.not_, envelope)


def _starts(value: str | None, prefix: str) -> bool:
    return value is not None and value.startswith(prefix)


def _ends(value: str | None, suffix: str) -> bool:
    return value is not None and value.endswith(suffix)
