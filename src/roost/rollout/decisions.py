"""What the rollout state machine asks the world to do, and the decision that carries it.

Actions are plain, frozen data in the order they must be applied. The executor in the control
layer maps each to one platform call (router, runtime, store); nothing here does I/O. Every
action turns into a JSON-able dict with a ``kind`` key, so decisions can be logged, shown and
stored as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from roost.rollout._serial import (
    dump_delta,
    dump_time,
    load_time,
    need_delta,
    need_time,
    weights,
)

if TYPE_CHECKING:
    from roost.rollout.states import RolloutState


@dataclass(frozen=True, slots=True)
class SetWeights:
    """Replace the service's whole weight map (revision → percent) in ONE atomic router update.

    Revisions left out get weight 0. Never split into several updates: "100% back to stable"
    must not pass through a moment with two revisions at 0 or the canary still weighted.
    """

    kind: ClassVar[str] = "set_weights"
    weights: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "set_weights", "weights": {...}}``."""
        return {"kind": self.kind, "weights": dict(self.weights)}


@dataclass(frozen=True, slots=True)
class ScaleCanary:
    """Run ``replicas`` replicas of the new ``revision`` (start it if it is not running).

    New replicas get traffic only once they pass their startup probe and warm-up
    (:mod:`roost.rollout.warming`); the rollout waits for them before raising the weight.
    """

    kind: ClassVar[str] = "scale_canary"
    revision: str
    replicas: int

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "scale_canary", "revision": ..., "replicas": n}``."""
        return {"kind": self.kind, "revision": self.revision, "replicas": self.replicas}


@dataclass(frozen=True, slots=True)
class ScaleDownAfter:
    """Stop ``revision`` once ``delay`` has passed, i.e. not before ``not_before``.

    Separate from (and after) the weight change on purpose: traffic moves first, the old or
    failed replicas stay a while for logs, debugging and an instant switch back. The executor
    must persist it (it is also in the final state) so a restart still performs it.
    """

    kind: ClassVar[str] = "scale_down_after"
    revision: str
    delay: timedelta
    not_before: datetime

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "scale_down_after", "revision", "delay_ms", "not_before"}``."""
        return {
            "kind": self.kind,
            "revision": self.revision,
            "delay_ms": dump_delta(self.delay),
            "not_before": dump_time(self.not_before),
        }


@dataclass(frozen=True, slots=True)
class Wait:
    """Call :func:`~roost.rollout.decide` again at ``until``, or earlier as soon as something
    is observed (a replica warm, a human command). ``None``: no timer, only observations wake
    it; ``until <= now``: at once (an analysis is due — see :func:`~roost.rollout.analysis_due`).
    ``reason`` says what the rollout is waiting for, for the live view."""

    kind: ClassVar[str] = "wait"
    until: datetime | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "wait", "until": iso or None, "reason": ...}``."""
        return {"kind": self.kind, "until": dump_time(self.until), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PauseForHuman:
    """The rollout holds until someone runs promote, resume or abort; tell people why."""

    kind: ClassVar[str] = "pause_for_human"
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "pause_for_human", "reason": ...}``."""
        return {"kind": self.kind, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Promote:
    """The rollout succeeded: ``revision`` is the stable revision now; end the rollout."""

    kind: ClassVar[str] = "promote"
    revision: str

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "promote", "revision": ...}``."""
        return {"kind": self.kind, "revision": self.revision}


@dataclass(frozen=True, slots=True)
class Abort:
    """The rollout failed and is over (traffic was already sent back by an earlier action)."""

    kind: ClassVar[str] = "abort"
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "abort", "reason": ...}``."""
        return {"kind": self.kind, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class RecordTimeline:
    """Append a line to the rollout's timeline (and emit the matching event)."""

    kind: ClassVar[str] = "record_timeline"
    entry: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "record_timeline", "entry": ..., "detail": {...}}``."""
        return {"kind": self.kind, "entry": self.entry, "detail": dict(self.detail)}


Action = (
    SetWeights
    | ScaleCanary
    | ScaleDownAfter
    | Wait
    | PauseForHuman
    | Promote
    | Abort
    | RecordTimeline
)
"""One thing for the executor to do."""


_LOADERS: dict[str, Callable[[Mapping[str, Any]], Action]] = {
    SetWeights.kind: lambda d: SetWeights(weights(d["weights"])),
    ScaleCanary.kind: lambda d: ScaleCanary(str(d["revision"]), int(d["replicas"])),
    ScaleDownAfter.kind: lambda d: ScaleDownAfter(
        str(d["revision"]), need_delta(d["delay_ms"]), need_time(d["not_before"])
    ),
    Wait.kind: lambda d: Wait(load_time(d.get("until")), str(d["reason"])),
    PauseForHuman.kind: lambda d: PauseForHuman(str(d["reason"])),
    Promote.kind: lambda d: Promote(str(d["revision"])),
    Abort.kind: lambda d: Abort(str(d["reason"])),
    RecordTimeline.kind: lambda d: RecordTimeline(str(d["entry"]), dict(d.get("detail") or {})),
}


def action_from_dict(data: Mapping[str, Any]) -> Action:
    """The action that ``action.to_dict()`` described."""
    loader = _LOADERS.get(str(data.get("kind")))
    if loader is None:
        raise ValueError(f"unknown action kind {data.get('kind')!r}")
    return loader(data)


@dataclass(frozen=True, slots=True)
class Decision:
    """The next state of a rollout and the actions that get the world there, in order."""

    state: RolloutState
    actions: tuple[Action, ...] = ()

    @property
    def wait(self) -> Wait | None:
        """When to decide again (``None`` once the rollout has ended)."""
        return next((a for a in self.actions if isinstance(a, Wait)), None)

    def of_kind(self, kind: type[Any]) -> list[Any]:
        """The actions of one type, in order (``decision.of_kind(SetWeights)``)."""
        return [action for action in self.actions if isinstance(action, kind)]

    def to_dict(self) -> dict[str, Any]:
        """``{"state": state.to_dict(), "actions": [action.to_dict(), ...]}``."""
        return {
            "state": self.state.to_dict(),
            "actions": [action.to_dict() for action in self.actions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """The decision :meth:`to_dict` described."""
        from roost.rollout.states import RolloutState

        return cls(
            RolloutState.from_dict(data["state"]),
            tuple(action_from_dict(action) for action in data["actions"]),
        )

    def __repr__(self) -> str:
        shown = ", ".join(_short(action) for action in self.actions)
        return f"Decision({self.state!r} -> [{shown}])"


def _short(action: Action) -> str:
    if isinstance(action, SetWeights):
        return f"SetWeights({action.weights})"
    if isinstance(action, RecordTimeline):
        return f"RecordTimeline({action.entry!r})"
    return repr(action)
