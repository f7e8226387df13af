import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from roost.clock import Clock, RealClock, VirtualClock


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(RealClock(), Clock)
    assert isinstance(VirtualClock(), Clock)


def test_real_clock_is_utc_and_monotonic_does_not_go_back() -> None:
    clock = RealClock()
    now = clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    a = clock.monotonic()
    b = clock.monotonic()
    assert b >= a


def test_virtual_clock_only_moves_when_told() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    clock = VirtualClock(start)
    assert clock.now() == start
    assert clock.monotonic() == 0
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    assert clock.monotonic() == 90


def test_virtual_sleep_advances_instead_of_blocking() -> None:
    clock = VirtualClock()
    before = RealClock().monotonic()
    clock.sleep(3600)
    assert clock.monotonic() == 3600
    assert RealClock().monotonic() - before < 60  # an hour of virtual sleep did not block


def test_virtual_asleep_advances_and_yields() -> None:
    clock = VirtualClock()
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    async def main() -> None:
        task = asyncio.create_task(other())
        await clock.asleep(30)
        order.append("after sleep")
        await task

    asyncio.run(main())
    assert order == ["other", "after sleep"]
    assert clock.monotonic() == 30


def test_virtual_clock_refuses_to_go_backwards_and_naive_starts() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2026, 1, 1))


def test_repr_shows_the_virtual_time() -> None:
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(5)
    assert "2026-01-01T00:00:05+00:00" in repr(clock)
