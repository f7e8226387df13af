"""Cancelling helper tasks reliably."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they are done.

    A task that swallows its cancellation (library code catching CancelledError, or
    ``asyncio.wait_for`` on Python 3.11 when the inner call finishes at the same moment) is
    cancelled again each second instead of blocking its supervisor for ever.
    """
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in pending:
            task.cancel()
    for task in tasks:
        # Retrieve outcomes so no "exception was never retrieved" warning is logged.
        if not task.cancelled():
            task.exception()
