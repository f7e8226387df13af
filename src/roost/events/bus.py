"""The event bus as the rest of roost sees it: publish CloudEvents envelopes, consume them
through named, durable consumers that acknowledge what they handled.

Every backend keeps the same promises (the contract suite, ``tests/events/test_bus_contract.py``,
runs against each):

* a consumer sees every envelope published after it was first opened, in publish order;
* what it acknowledged is never handed to a consumer of the same name again, across restarts;
* what it fetched but did not acknowledge is handed out again after :meth:`Consumer.release`
  or when the consumer is reopened (at-least-once: a crash between handling and acknowledging
  repeats the handling, never skips it);
* :meth:`Consumer.lag` counts the envelopes published and not yet acknowledged by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class BusError(Exception):
    """The bus is unreachable or refused an operation; ``hint`` says what to check."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Message:
    """One envelope as a consumer received it. ``position`` is its place in the stream (the
    outbox's seq, JetStream's stream sequence); ``handle`` is the backend's own, to
    acknowledge it."""

    envelope: dict[str, Any]
    position: int
    handle: Any = field(default=None, compare=False, repr=False)

    @property
    def event_id(self) -> str:
        return str(self.envelope["id"])


class Consumer(Protocol):
    """A named, durable reader of the bus."""

    name: str

    def fetch(self, max_messages: int, *, timeout: float) -> list[Message]:
        """Up to ``max_messages`` envelopes not yet handed out, waiting up to ``timeout``
        seconds for the first; an empty list when none came."""
        ...

    def ack(self, messages: Sequence[Message]) -> None:
        """``messages`` are handled: never hand them to this consumer again."""
        ...

    def release(self, messages: Sequence[Message]) -> None:
        """``messages`` were not handled: hand them out again."""
        ...

    def lag(self) -> int:
        """How many published envelopes this consumer has not acknowledged."""
        ...

    def close(self) -> None:
        """Stop reading (positions stay: a consumer of the same name resumes there)."""
        ...


class Bus(Protocol):
    """Where roost's events are published and consumed."""

    kind: str
    """``outbox`` or ``jetstream``: the label of its metrics."""

    def publish(self, envelopes: Sequence[dict[str, Any]]) -> None:
        """Publish envelopes (CloudEvents JSON: ``id``, ``type``, ``source``, ...) in order.
        An envelope whose ``id`` was published just before is dropped where the backend
        can tell (JetStream's duplicate window)."""
        ...

    def consumer(self, name: str) -> Consumer:
        """The durable consumer ``name`` (created, from now on, the first time)."""
        ...

    def close(self) -> None: ...
