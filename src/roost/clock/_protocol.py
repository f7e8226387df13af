from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Where roost's logic gets the time from.

    ``now()`` is wall time (timezone-aware UTC) for timestamps that people read and that are
    stored; ``monotonic()`` is for measuring intervals (lease expiry, timeouts), because wall time
    can jump when an operator or NTP sets the system clock.
    """

    def now(self) -> datetime:
        """The current wall time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary fixed point; never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (a virtual clock advances instead of blocking)."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Await ``seconds`` (a virtual clock advances instead of waiting)."""
        ...
