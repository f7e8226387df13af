"""Choosing the event loop implementation."""

from __future__ import annotations

import asyncio


def install_uvloop() -> bool:
    """Make new event loops uvloop ones, when uvloop is installed; ``True`` if it is.

    Never done at import time: whoever owns the process (the agent's entry point) decides.
    uvloop roughly halves the proxy's per-request overhead; the proxy is correct without it.
    """
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
