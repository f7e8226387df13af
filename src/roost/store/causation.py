"""What caused the events being recorded now: a context variable the event bus sets while a
trigger's action runs, so every event the action records carries CloudEvents extension
attributes linking it to its cause, without the action knowing about the bus.

* ``correlationid`` — the id of the first event of the chain (the alert, the scan finding);
  shared by everything that follows from it.
* ``causationid`` — the id of the event whose delivery ran the action.
* ``chaindepth`` — how many trigger hops led here (0 for an event nothing automated caused);
  the loop guard refuses to go past a trigger's maximum.
* ``causedby`` — the trigger (and delivery) whose action recorded the event.

A context variable (not a thread-local) so it also follows ``asyncio`` tasks and
``contextvars.copy_context().run`` into worker threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

CORRELATION = "correlationid"
CAUSATION = "causationid"
DEPTH = "chaindepth"
CAUSED_BY = "causedby"


@dataclass(frozen=True, slots=True)
class Cause:
    """The event (and the trigger delivery) whose consequences are being recorded."""

    correlation_id: str
    causation_id: str
    depth: int
    caused_by: str

    def extensions(self) -> dict[str, Any]:
        """The extension attributes an event caused by this carries."""
        return {
            CORRELATION: self.correlation_id,
            CAUSATION: self.causation_id,
            DEPTH: self.depth,
            CAUSED_BY: self.caused_by,
        }


_current: ContextVar[Cause | None] = ContextVar("roost_event_cause", default=None)


def current() -> Cause | None:
    """The cause in effect here, if an automation is running."""
    return _current.get()


@contextmanager
def caused_by(cause: Cause) -> Iterator[Cause]:
    """Every event recorded inside the block carries ``cause``'s extension attributes."""
    token = _current.set(cause)
    try:
        yield cause
    finally:
        _current.reset(token)
