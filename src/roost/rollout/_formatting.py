"""Numbers as people read them in reasons and timelines: ``4.1%``, ``182ms``, ``60s``."""

from __future__ import annotations

from datetime import timedelta

from roost.spec.durations import format_duration


def percent(ratio: float) -> str:
    """``0.041`` → ``"4.1%"``; three significant digits, no trailing zeros."""
    return f"{ratio * 100:.3g}%"


def latency(seconds: float) -> str:
    """``0.1824`` → ``"182ms"``, ``1.25`` → ``"1.25s"``."""
    if seconds < 1:
        return f"{seconds * 1000:.3g}ms"
    return f"{seconds:.3g}s"


def rate(per_second: float) -> str:
    """``0.5`` → ``"0.5 req/s"``."""
    return f"{per_second:.3g} req/s"


def span(window: timedelta) -> str:
    """A window as the spec spells durations: ``60s`` stays ``1m``, ``90s`` is ``1m30s``."""
    return format_duration(window)


def requests(count: int) -> str:
    """``1`` → ``"1 request"``, ``412`` → ``"412 requests"``."""
    return f"{count} request" if count == 1 else f"{count} requests"
