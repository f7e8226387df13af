"""Canary analysis: the checks that decide whether a step passes, fails or is inconclusive.

Two kinds of evidence, as in Kayenta and Flagger: absolute thresholds on the canary's metrics,
and a comparison of the canary against the stable revision over the same interval. Too few
samples is *inconclusive*, never a silent pass or an instant fail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, field_serializer, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import Issue, issue_error, issues_error
from roost.spec.durations import (
    DURATION_PATTERN,
    PositiveDuration,
    format_duration,
    parse_duration,
)
from roost.spec.fields import describe

Metric = Literal["error_ratio", "latency_p50", "latency_p95", "latency_p99", "request_rate"]
LATENCY_METRICS = ("latency_p50", "latency_p95", "latency_p99")

Threshold = Annotated[
    float,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": DURATION_PATTERN, "description": "latencies"},
            ]
        }
    ),
]


class Check(SpecModel):
    """A threshold on one metric of the canary, evaluated every interval.

    Units: ``error_ratio`` is a fraction 0-1 (``0.01`` = 1%); latencies are durations
    (``250ms``); ``request_rate`` is requests per second. Give ``max``, ``min`` or both.
    """

    metric: Metric = Field(description="What to measure on the canary's traffic.")
    max: Threshold | None = Field(default=None, description="Fail when the metric is above this.")
    min: Threshold | None = Field(default=None, description="Fail when the metric is below this.")

    @model_validator(mode="before")
    @classmethod
    def _latencies_are_durations(cls, data: Any) -> Any:
        # Latency thresholds are written as durations: a bare `max: 250` reads as milliseconds
        # to some and seconds to others, so it is refused rather than guessed. Stored as seconds.
        if not isinstance(data, dict) or data.get("metric") not in LATENCY_METRICS:
            return data
        converted = dict(data)
        for bound in ("max", "min"):
            value = data.get(bound)
            if value is None:
                continue
            if not isinstance(value, str):
                raise issue_error(
                    f"a latency threshold needs a unit, got {describe(value)}",
                    at=(bound,),
                    hint="write e.g. 250ms or 1s",
                )
            try:
                converted[bound] = parse_duration(value).total_seconds()
            except ValueError:
                raise issue_error(
                    f"{describe(value)} is not a duration", at=(bound,), hint="use e.g. 250ms, 2s"
                ) from None
        return converted

    @model_validator(mode="after")
    def _sane_bounds(self) -> Check:
        issues = []
        if self.max is None and self.min is None:
            issues.append(Issue("a check needs max, min or both", hint="e.g. `max: 0.01`"))
        for bound in ("max", "min"):
            value: float | None = getattr(self, bound)
            if value is None:
                continue
            if value < 0:
                issues.append(Issue("must not be negative", at=(bound,)))
            elif self.metric == "error_ratio" and value > 1:
                issues.append(
                    Issue(
                        f"error_ratio is a fraction from 0 to 1, got {value:g}",
                        at=(bound,),
                        hint=f"for {value:g}% write {value / 100:g}",
                    )
                )
        if self.max is not None and self.min is not None and self.min > self.max:
            issues.append(Issue("min is above max: the check can never pass", at=("min",)))
        if issues:
            raise issues_error(issues)
        return self

    @field_serializer("max", "min")
    def _show_latency_as_duration(self, value: float | None) -> float | str | None:
        if value is None or self.metric not in LATENCY_METRICS:
            return value
        return format_duration(timedelta(seconds=value))


class CompareToStable(SpecModel):
    """Compare the canary's per-request samples with the stable revision's, same interval.

    The canary fails when it is worse with ``confidence`` (one-sided Mann-Whitney U test) *and*
    the difference is at least ``min_effect_size``, so a tiny but "significant" difference on a
    busy service does not roll back a release.
    """

    test: Literal["mann_whitney_u"] = Field(
        default="mann_whitney_u", description="The statistical test (Mann-Whitney U)."
    )
    metric: Literal["latency", "error_ratio"] = Field(
        default="latency", description="Which per-request samples to compare."
    )
    min_effect_size: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Smallest difference that matters, as the rank-biserial effect size (0-1).",
    )
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="Confidence required to call the canary worse."
    )


class Analysis(SpecModel):
    """How a service's canary is judged while a rollout runs.

    Every ``interval``, each check and the comparison give pass, fail or inconclusive (fewer than
    ``min_samples`` requests). ``consecutive_failure_limit`` failing intervals in a row abort the
    rollout (traffic goes back to stable at once); ``inconclusive_limit`` inconclusive intervals
    in a row pause it for a human instead of guessing.
    """

    interval: PositiveDuration = Field(
        default=timedelta(minutes=1), description="Length of one measurement interval."
    )
    checks: list[Check] = Field(default_factory=list, description="Thresholds on the canary.")
    compare_to_stable: CompareToStable | None = Field(
        default=None, description="Statistical comparison against the stable revision."
    )
    min_samples: int = Field(
        default=50,
        ge=1,
        description="Requests each revision needs in an interval for a verdict; fewer is "
        "inconclusive.",
    )
    inconclusive_limit: int = Field(
        default=3, ge=1, description="Inconclusive intervals in a row before pausing for a human."
    )
    consecutive_failure_limit: int = Field(
        default=2, ge=1, description="Failing intervals in a row before aborting the rollout."
    )

    @model_validator(mode="after")
    def _has_evidence(self) -> Analysis:
        if not self.checks and self.compare_to_stable is None:
            raise issue_error(
                "an analysis needs checks, compare_to_stable or both",
                hint="e.g. `checks: [{metric: error_ratio, max: 0.01}]`",
            )
        return self
