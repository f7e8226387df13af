from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class VirtualClock:
    """A clock that only moves when told to.

    ``sleep`` and ``asleep`` advance the clock by the requested amount and return at once, so a
    loop that sleeps between polls runs through hours of virtual time instantly while still
    observing time pass in order. ``asleep`` yields to the event loop once so other tasks run.
    """

    def __init__(self, start: datetime = _EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._start = start.astimezone(UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``; moving it backwards is refused."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (asked for {seconds}s)")
        self._elapsed += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now().isoformat()}, elapsed={self._elapsed:g}s)"
