"""Rollout strategies: how traffic moves from the stable revision to a new one.

``canary`` follows Argo Rollouts: a list of steps, each exactly one of ``set_weight``, ``pause``
or ``analysis``. ``blue_green`` starts the new revision next to the old one at full size, lets
people (or a timer) check it on a preview port, and switches all traffic at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import KEY, did_you_mean, issue_error
from roost.spec.analysis import Check
from roost.spec.durations import Duration, PositiveDuration
from roost.spec.fields import Port, describe

STEP_KINDS = ("set_weight", "pause", "analysis")


class SetWeightStep(SpecModel):
    """Send this percentage of traffic to the new revision (after warm-up and slow start)."""

    set_weight: int = Field(ge=0, le=100, description="Percent of traffic, 0-100.")


def _pause(value: Any) -> Any:
    # Argo writes `pause: {}` for "until a human promotes" and `pause: {duration: 5m}`.
    if isinstance(value, dict) and set(value) <= {"duration"}:
        return value.get("duration")
    return value


class PauseStep(SpecModel):
    """Hold the current weight: for a duration, or (``null`` / ``{}``) until a human promotes."""

    pause: Annotated[Duration | None, BeforeValidator(_pause)] = Field(
        description="How long to hold; null or {} holds until `roost promote`."
    )


class StepAnalysis(SpecModel):
    """Analyse the canary at the current weight for ``duration`` before the next step."""

    duration: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="How long to analyse (extended while results are inconclusive).",
    )
    checks: list[Check] | None = Field(
        default=None, description="Checks for this step; null: the service's analysis.checks."
    )


class AnalysisStep(SpecModel):
    """Run the service's analysis (or this step's checks) at the current weight."""

    analysis: StepAnalysis = Field(description="Analysis settings for this step ({} for defaults).")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in STEP_KINDS if key in value), None)
    models: tuple[type[SpecModel], ...] = (SetWeightStep, PauseStep, AnalysisStep)
    for kind, model in zip(STEP_KINDS, models, strict=True):
        if isinstance(value, model):
            return kind
    return None


def _step_shape(value: Any) -> Any:
    # Checked before the tagged union so that a wrong step gets one clear message at the right
    # key instead of one error per union member.
    if isinstance(value, SetWeightStep | PauseStep | AnalysisStep):
        return value
    if not isinstance(value, dict):
        raise issue_error(
            f"expected a step (set_weight, pause or analysis), got {describe(value)}",
            hint="e.g. `- set_weight: 20`",
        )
    present = [key for key in value if key in STEP_KINDS]
    if len(present) > 1:
        raise issue_error(
            "a step has exactly one of set_weight, pause or analysis, "
            f"found {' and '.join(present)}",
            at=(present[1], KEY),
            hint="split it into one step per list item",
        )
    if not present:
        unknown = next(iter(value), None)
        if unknown is None:
            raise issue_error("empty step", hint="use set_weight, pause or analysis")
        raise issue_error(
            f"unknown step {describe(unknown)}",
            at=(unknown, KEY),
            hint=did_you_mean(unknown, STEP_KINDS) or "use set_weight, pause or analysis",
        )
    if value.get("analysis", {}) is None:  # `- analysis:` means the defaults
        return {"analysis": {}}
    return value


CanaryStep = Annotated[
    Annotated[SetWeightStep, Tag("set_weight")]
    | Annotated[PauseStep, Tag("pause")]
    | Annotated[AnalysisStep, Tag("analysis")],
    Discriminator(_step_kind),
    BeforeValidator(_step_shape),
]
"""One canary step: ``{set_weight: 20}``, ``{pause: 5m}``, ``{pause: null}``, ``{analysis: {}}``."""


class CanaryRollout(SpecModel):
    """Move traffic to the new revision in steps, analysing as it goes."""

    strategy: Literal["canary"] = Field(description="canary")
    steps: list[CanaryStep] = Field(
        min_length=1,
        description="In order. Weights need not only grow. After the last step the new revision "
        "gets 100% and becomes stable.",
    )
    abort_scale_down_delay: Duration = Field(
        default=timedelta(seconds=30),
        description="On abort, traffic goes back to stable at once; the canary is scaled down "
        "after this delay (for logs and debugging).",
    )


class BlueGreenRollout(SpecModel):
    """Start the new revision at full size beside the old one, then switch all traffic at once."""

    strategy: Literal["blue_green"] = Field(description="blue_green")
    preview_port: Port | None = Field(
        default=None,
        description="Local port where the new revision answers before the switch (for checks "
        "and humans); null: no preview.",
    )
    auto_promote: bool = Field(
        default=False,
        description="Switch without a human once the new revision is ready, warm and analysed.",
    )
    auto_promote_after: Duration | None = Field(
        default=None, description="With auto_promote: wait this long on preview before switching."
    )
    scale_down_delay: Duration = Field(
        default=timedelta(seconds=30),
        description="Keep the old revision running this long after the switch, for an instant "
        "switch back.",
    )

    @model_validator(mode="after")
    def _delay_needs_auto_promote(self) -> BlueGreenRollout:
        if self.auto_promote_after is not None and not self.auto_promote:
            raise issue_error(
                "auto_promote_after has no effect without auto_promote: true",
                at=("auto_promote_after",),
                hint="set auto_promote: true, or remove auto_promote_after",
            )
        return self


Rollout = Annotated[CanaryRollout | BlueGreenRollout, Field(discriminator="strategy")]
"""A rollout strategy, chosen by ``strategy``."""
