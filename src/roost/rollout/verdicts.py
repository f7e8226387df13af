"""What an analysis concludes: per-check results and the verdict they add up to.

Three outcomes, not two: *inconclusive* is what honest analysis says when there is too little
data. The rollout extends the step on it (and eventually asks a human); it is never turned into a
silent pass or an instant fail.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost.rollout._serial import dump_time, need_time


class Outcome(enum.Enum):
    """The result of one check, or of a whole analysis interval."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    def __repr__(self) -> str:
        return f"Outcome.{self.name}"


def combine(outcomes: Iterable[Outcome]) -> Outcome:
    """Any failure fails; otherwise any inconclusive check makes the whole inconclusive.

    A failure with enough data is evidence even when another check lacks data, so it is not
    diluted into "inconclusive"; and a pass needs every check to pass.
    """
    seen = set(outcomes)
    if Outcome.FAIL in seen:
        return Outcome.FAIL
    if Outcome.INCONCLUSIVE in seen or not seen:
        return Outcome.INCONCLUSIVE
    return Outcome.PASS


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's result, with the numbers behind it and a sentence for people.

    ``samples`` is the canary's request count in the window; comparisons also give the stable
    side's count, the one-sided p-value and the effect size (rank-biserial, positive = canary
    worse).
    """

    name: str
    outcome: Outcome
    reason: str
    observed: float | None = None
    limit: float | None = None
    samples: int = 0
    stable_samples: int | None = None
    p_value: float | None = None
    effect_size: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (see :meth:`from_dict`)."""
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "observed": self.observed,
            "limit": self.limit,
            "samples": self.samples,
            "stable_samples": self.stable_samples,
            "p_value": self.p_value,
            "effect_size": self.effect_size,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """The result :meth:`to_dict` described."""
        return cls(
            name=str(data["name"]),
            outcome=Outcome(data["outcome"]),
            reason=str(data["reason"]),
            observed=data.get("observed"),
            limit=data.get("limit"),
            samples=int(data.get("samples", 0)),
            stable_samples=data.get("stable_samples"),
            p_value=data.get("p_value"),
            effect_size=data.get("effect_size"),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The combined result of one analysis interval of ``canary`` (against ``stable``).

    ``window_start`` is when the interval's samples begin: for a failing verdict that is the
    earliest moment the fault can have been visible, which the abort timeline reports as
    "fault began".
    """

    outcome: Outcome
    checks: tuple[CheckResult, ...]
    canary: str
    stable: str | None
    window_start: datetime
    window_end: datetime

    @classmethod
    def of(
        cls,
        checks: Iterable[CheckResult],
        *,
        canary: str,
        stable: str | None,
        window_start: datetime,
        window_end: datetime,
    ) -> Verdict:
        """The verdict that ``checks`` add up to (see :func:`combine`)."""
        results = tuple(checks)
        return cls(
            outcome=combine(result.outcome for result in results),
            checks=results,
            canary=canary,
            stable=stable,
            window_start=window_start,
            window_end=window_end,
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why: the reasons of the checks that decided the outcome (all of them on a pass)."""
        if not self.checks:
            return ("no checks to run",)
        deciding = [c.reason for c in self.checks if c.outcome is self.outcome]
        return tuple(deciding or (c.reason for c in self.checks))

    def summary(self) -> str:
        """One line for the timeline and the live view, e.g. ``fail: error ratio 4.1% > …``."""
        return f"{self.outcome.value}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (see :meth:`from_dict`)."""
        return {
            "outcome": self.outcome.value,
            "checks": [check.to_dict() for check in self.checks],
            "canary": self.canary,
            "stable": self.stable,
            "window_start": dump_time(self.window_start),
            "window_end": dump_time(self.window_end),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The verdict :meth:`to_dict` described."""
        return cls(
            outcome=Outcome(data["outcome"]),
            checks=tuple(CheckResult.from_dict(check) for check in data["checks"]),
            canary=str(data["canary"]),
            stable=None if data.get("stable") is None else str(data["stable"]),
            window_start=need_time(data["window_start"]),
            window_end=need_time(data["window_end"]),
        )
