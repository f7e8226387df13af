"""What an action is (:class:`Action`), what it is handed (:class:`ActionContext`: the control
plane, and the :class:`Cause` — which schedule or trigger, which event), and what it answers
(:class:`ActionResult`).

An action's parameters are a roost.yaml model (:data:`roost.spec.actions.ACTION_PARAMS`), so
they were validated when the file was; :func:`roost.actions.run_action` validates them again
for callers that build them in code, runs the action and audits the outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from roost.control.wiring import Wiring
from roost.spec._base import SpecModel
from roost.store import Fence

CauseKind = Literal["schedule", "trigger", "manual"]


@dataclass(frozen=True)
class Cause:
    """Why an action runs: the schedule or trigger (``name``), the event that caused it (a
    trigger's delivered event, or None) and, for a schedule, the tick. The audit event of the
    action carries all of it, so ``roost events`` shows what ran an action and because of what."""

    kind: CauseKind
    name: str
    event_id: str | None = None
    tick: datetime | None = None
    correlation_id: str | None = None

    @property
    def actor(self) -> str:
        """The actor the action's events are recorded with: ``schedule:nightly-scale-down``."""
        return f"{self.kind}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "event_id": self.event_id,
            "tick": self.tick.isoformat() if self.tick is not None else None,
            "correlation_id": self.correlation_id,
        }


@dataclass
class ActionContext:
    """What an action runs against: the control plane's operations (so the guards apply),
    the cause, and a ``cancel`` flag a long action (a job) watches (concurrency: replace)."""

    wiring: Wiring
    cause: Cause
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def actor(self) -> str:
        return self.cause.actor

    @property
    def fence(self) -> Fence | None:
        """The leader's fence (raises a 503 on a follower); None without a lease."""
        leadership = self.wiring.plane.leadership
        return leadership.fence if leadership is not None else None


@dataclass(frozen=True)
class ActionResult:
    """How it went: ``ok``, one line for people, and details for the audit event."""

    ok: bool
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)
    hint: str | None = None


class Action(Protocol):
    """One action: a name (as roost.yaml writes it), its params model, and ``run``.

    ``run`` raises :class:`~roost.control.errors.OperationError` for a refusal a user can act
    on (a guard said no, a service runs nothing); :func:`roost.actions.run_action` turns that
    into a failed :class:`ActionResult` and audits it."""

    @property
    def name(self) -> str: ...

    @property
    def params_model(self) -> type[SpecModel]: ...

    def run(self, context: ActionContext, params: Any) -> ActionResult: ...
