"""What the executor tells the rollout each time it asks for a decision.

Everything the state machine cannot know by itself: the latest analysis verdict, how many
replicas of the new revision are ready *and warm*, whether it failed to start, and what a human
asked for. An empty :class:`Observation` is valid — a timer went off and nothing else happened.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roost.rollout.verdicts import Verdict


class CommandKind(enum.Enum):
    """What a person can ask a running rollout to do."""

    PROMOTE = "promote"
    """Move past the current step (a blue-green preview: switch now)."""
    PROMOTE_FULL = "promote_full"
    """Skip the remaining steps and go to 100% (once enough replicas are warm)."""
    PAUSE = "pause"
    """Hold where it is; analysis keeps running and can still abort."""
    RESUME = "resume"
    """Continue after a pause."""
    ABORT = "abort"
    """Send all traffic back to stable now and end the rollout."""

    def __repr__(self) -> str:
        return f"CommandKind.{self.name}"


@dataclass(frozen=True, slots=True)
class HumanCommand:
    """A command, who gave it and why (shown in the timeline and the audit log)."""

    kind: CommandKind
    by: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """The world as the executor saw it just before asking for a decision.

    ``warm_replicas``: replicas of the new revision that passed the startup probe and the
    warm-up gate (:func:`~roost.rollout.warmup_status` is ready for them). ``failure``: why the
    new revision cannot become ready (a warm-up with ``on_timeout: fail`` ran out, a crash loop)
    or must not (an SLO pages on its traffic); it aborts the rollout, and ``failure_by`` says
    what found it (``runtime``, ``slo``): the abort is reported as "aborted by" that.
    ``verdict``: the analysis the executor ran because :func:`~roost.rollout.analysis_due` asked
    for it.
    """

    verdict: Verdict | None = None
    warm_replicas: int = 0
    failure: str | None = None
    command: HumanCommand | None = None
    failure_by: str = "runtime"
