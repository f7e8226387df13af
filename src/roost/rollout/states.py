"""A rollout's persisted state: where it is, what the router and runtime were told, and why.

The state is everything :func:`~roost.rollout.decide` needs besides the service spec, the
observation and the time, so a control plane that was killed mid-step resumes by loading it
(``RolloutState.from_dict(record.data)``) and deciding again — the same decision it would have
made had it not died. It is plain data and serialises losslessly to a JSON-able dict.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roost.rollout._serial import dump_time, load_time, need_time, weights
from roost.rollout.verdicts import Outcome, Verdict

FORMAT = 1
"""Version of :meth:`RolloutState.to_dict`'s layout; bumped when it changes incompatibly."""


class Strategy(enum.Enum):
    """How traffic moves to the new revision."""

    CANARY = "canary"
    """The spec's steps (set_weight / pause / analysis), then 100%."""
    BLUE_GREEN = "blue_green"
    """Preview at full size with weight 0, then switch everything at once."""
    DIRECT = "direct"
    """Straight to 100% once ready and warm: a first deploy, a service without a rollout
    strategy, or a ``--fast`` rollback."""

    def __repr__(self) -> str:
        return f"Strategy.{self.name}"


class Phase(enum.Enum):
    """Where a rollout is. ``PROMOTED`` and ``ABORTED`` are final."""

    PROGRESSING = "progressing"
    PREVIEW = "preview"
    PROMOTED = "promoted"
    ABORTED = "aborted"

    def __repr__(self) -> str:
        return f"Phase.{self.name}"


class PauseKind(enum.Enum):
    """Why a rollout waits for a human; decides what ``resume`` means."""

    HOLD = "hold"
    """A ``pause: {}`` step: resume or promote moves past it."""
    INCONCLUSIVE = "inconclusive"
    """Analysis stayed inconclusive ``inconclusive_limit`` times: resume keeps analysing, promote
    accepts the step without a verdict."""
    HUMAN = "human"
    """Someone ran pause: resume continues where it was."""
    AWAITING_PROMOTE = "awaiting_promote"
    """Blue-green without auto_promote: the preview is ready, only promote switches."""

    def __repr__(self) -> str:
        return f"PauseKind.{self.name}"


@dataclass(frozen=True, slots=True)
class Pause:
    """The rollout holds for a human: why, since when, on whose command (``None``: roost)."""

    kind: PauseKind
    reason: str
    since: datetime
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (see :meth:`from_dict`)."""
        return {
            "kind": self.kind.value,
            "reason": self.reason,
            "since": dump_time(self.since),
            "by": self.by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pause:
        """The pause :meth:`to_dict` described."""
        return cls(
            PauseKind(data["kind"]), str(data["reason"]), need_time(data["since"]), data.get("by")
        )


@dataclass(frozen=True, slots=True)
class AbortRecord:
    """Why and when a rollout aborted — the three timestamps of the abort timeline.

    * ``fault_began_at``: the start of the window of the earliest failing analysis in the
      failure streak that caused the abort (``None`` when a human aborted without one);
    * ``detected_at``: when the abort was decided;
    * ``traffic_reverted_at``: when the router confirmed 100% on stable — filled in by the
      executor after it applied the weights (:func:`~roost.rollout.mark_traffic_reverted`).
    """

    reason: str
    by: str
    detected_at: datetime
    fault_began_at: datetime | None = None
    traffic_reverted_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (see :meth:`from_dict`)."""
        return {
            "reason": self.reason,
            "by": self.by,
            "fault_began_at": dump_time(self.fault_began_at),
            "detected_at": dump_time(self.detected_at),
            "traffic_reverted_at": dump_time(self.traffic_reverted_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AbortRecord:
        """The record :meth:`to_dict` described."""
        return cls(
            reason=str(data["reason"]),
            by=str(data["by"]),
            detected_at=need_time(data["detected_at"]),
            fault_began_at=load_time(data.get("fault_began_at")),
            traffic_reverted_at=load_time(data.get("traffic_reverted_at")),
        )


@dataclass(frozen=True, slots=True)
class RolloutState:
    """Everything a rollout has decided so far.

    Revisions: ``canary`` is the new one (also for blue-green and direct), ``stable`` the one it
    replaces (``None`` on a first deploy). ``weights`` and ``canary_replicas`` are what the
    router and runtime were last told, ``target_weight`` what the current step asks for (slow
    start may hold ``weights`` below it for a while).

    Step bookkeeping: ``step`` indexes the spec's canary steps; ``step == len(steps)`` is the
    final move to 100%. ``step_deadline`` ends a timed pause or an analysis step's planned
    duration; ``step_outcome`` is the latest verdict taken inside the current analysis step.

    Analysis bookkeeping: ``next_analysis_at`` is when the next interval's verdict is due;
    ``consecutive_failures`` / ``consecutive_inconclusive`` count verdicts in a row (a pass
    resets both); ``failing_since`` is the earliest failing window of the current failure
    streak; ``extensions`` counts how often the current analysis step ran past its duration.
    """

    service: str
    strategy: Strategy
    canary: str
    stable: str | None
    replicas: int
    started_at: datetime
    phase: Phase = Phase.PROGRESSING
    step: int = 0
    step_started_at: datetime | None = None
    step_deadline: datetime | None = None
    step_outcome: Outcome | None = None
    target_weight: int = 0
    weights: dict[str, int] = field(default_factory=dict)
    canary_replicas: int = 0
    traffic_started_at: datetime | None = None
    waiting_since: datetime | None = None
    preview_since: datetime | None = None
    next_analysis_at: datetime | None = None
    analyses: int = 0
    consecutive_failures: int = 0
    consecutive_inconclusive: int = 0
    failing_since: datetime | None = None
    extensions: int = 0
    last_verdict: Verdict | None = None
    pause: Pause | None = None
    abort: AbortRecord | None = None
    scale_down: str | None = None
    scale_down_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def ended(self) -> bool:
        """Whether the rollout is over (promoted or aborted)."""
        return self.phase in (Phase.PROMOTED, Phase.ABORTED)

    @property
    def canary_weight(self) -> int:
        """The new revision's current weight in percent."""
        return self.weights.get(self.canary, 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for ``RolloutRecord.data`` (see :meth:`from_dict`)."""
        return {
            "format": FORMAT,
            "service": self.service,
            "strategy": self.strategy.value,
            "canary": self.canary,
            "stable": self.stable,
            "replicas": self.replicas,
            "started_at": dump_time(self.started_at),
            "phase": self.phase.value,
            "step": self.step,
            "step_started_at": dump_time(self.step_started_at),
            "step_deadline": dump_time(self.step_deadline),
            "step_outcome": None if self.step_outcome is None else self.step_outcome.value,
            "target_weight": self.target_weight,
            "weights": dict(self.weights),
            "canary_replicas": self.canary_replicas,
            "traffic_started_at": dump_time(self.traffic_started_at),
            "waiting_since": dump_time(self.waiting_since),
            "preview_since": dump_time(self.preview_since),
            "next_analysis_at": dump_time(self.next_analysis_at),
            "analyses": self.analyses,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_inconclusive": self.consecutive_inconclusive,
            "failing_since": dump_time(self.failing_since),
            "extensions": self.extensions,
            "last_verdict": None if self.last_verdict is None else self.last_verdict.to_dict(),
            "pause": None if self.pause is None else self.pause.to_dict(),
            "abort": None if self.abort is None else self.abort.to_dict(),
            "scale_down": self.scale_down,
            "scale_down_at": dump_time(self.scale_down_at),
            "ended_at": dump_time(self.ended_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolloutState:
        """The state :meth:`to_dict` described; ``ValueError`` for another format version."""
        if data.get("format") != FORMAT:
            raise ValueError(
                f"rollout state format {data.get('format')!r} is not {FORMAT}; "
                "this roost cannot resume it"
            )
        outcome = data.get("step_outcome")
        verdict = data.get("last_verdict")
        pause = data.get("pause")
        abort = data.get("abort")
        return cls(
            service=str(data["service"]),
            strategy=Strategy(data["strategy"]),
            canary=str(data["canary"]),
            stable=None if data.get("stable") is None else str(data["stable"]),
            replicas=int(data["replicas"]),
            started_at=need_time(data["started_at"]),
            phase=Phase(data["phase"]),
            step=int(data["step"]),
            step_started_at=load_time(data.get("step_started_at")),
            step_deadline=load_time(data.get("step_deadline")),
            step_outcome=None if outcome is None else Outcome(outcome),
            target_weight=int(data["target_weight"]),
            weights=weights(data["weights"]),
            canary_replicas=int(data["canary_replicas"]),
            traffic_started_at=load_time(data.get("traffic_started_at")),
            waiting_since=load_time(data.get("waiting_since")),
            preview_since=load_time(data.get("preview_since")),
            next_analysis_at=load_time(data.get("next_analysis_at")),
            analyses=int(data["analyses"]),
            consecutive_failures=int(data["consecutive_failures"]),
            consecutive_inconclusive=int(data["consecutive_inconclusive"]),
            failing_since=load_time(data.get("failing_since")),
            extensions=int(data["extensions"]),
            last_verdict=None if verdict is None else Verdict.from_dict(verdict),
            pause=None if pause is None else Pause.from_dict(pause),
            abort=None if abort is None else AbortRecord.from_dict(abort),
            scale_down=data.get("scale_down"),
            scale_down_at=load_time(data.get("scale_down_at")),
            ended_at=load_time(data.get("ended_at")),
        )

    def __repr__(self) -> str:
        parts = [
            f"{self.service} {self.strategy.value} {self.stable}->{self.canary}",
            f"phase={self.phase.value}",
            f"step={self.step}",
            f"weights={self.weights}",
            f"target={self.target_weight}",
            f"replicas={self.canary_replicas}/{self.replicas}",
        ]
        if self.consecutive_failures or self.consecutive_inconclusive:
            parts.append(
                f"fail={self.consecutive_failures} inconclusive={self.consecutive_inconclusive}"
            )
        if self.pause is not None:
            parts.append(f"paused({self.pause.kind.value}: {self.pause.reason})")
        if self.abort is not None:
            parts.append(f"aborted({self.abort.reason})")
        return "RolloutState(" + " ".join(parts) + ")"
