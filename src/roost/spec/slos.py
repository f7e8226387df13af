"""Service level objectives: what "good enough" means for a service, and its error budget."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from roost.spec._base import SpecModel
from roost.spec._issues import issue_error
from roost.spec.durations import PositiveDuration
from roost.spec.fields import Name, StatusRange


class RatioSli(SpecModel):
    """Good events / all events, from the requests the router sees."""

    kind: Literal["ratio"] = Field(description="ratio")
    bad_status: StatusRange = Field(
        default="500-599", description="Response statuses that count as bad events."
    )


class LatencySli(SpecModel):
    """The share of requests answered faster than ``threshold``."""

    kind: Literal["latency"] = Field(description="latency")
    threshold: PositiveDuration = Field(description="A request is good when faster than this.")


class ProbeSli(SpecModel):
    """The share of successful synthetic requests that roost sends on its own (black-box)."""

    kind: Literal["probe"] = Field(description="probe")
    path: str = Field(default="/", pattern=r"^/", description="Path to request.")
    interval: PositiveDuration = Field(
        default=timedelta(seconds=30), description="How often to send a request."
    )
    timeout: PositiveDuration = Field(
        default=timedelta(seconds=2), description="Slower than this counts as bad."
    )
    expect_status: StatusRange = Field(
        default="200-399", description="Statuses that count as good."
    )


Sli = Annotated[RatioSli | LatencySli | ProbeSli, Field(discriminator="kind")]


class Slo(SpecModel):
    """An objective over a rolling window; what it leaves is the error budget.

    ``objective`` is a percentage: ``99.9`` means 99.9% of events in ``window`` must be good, so
    the error budget is 0.1% of them.
    """

    name: Name = Field(description="Unique within the service, e.g. availability.")
    description: str | None = Field(default=None, description="What it means for users.")
    objective: float = Field(
        gt=0, lt=100, description="Target percentage of good events, e.g. 99.9 (not 0.999)."
    )
    window: PositiveDuration = Field(
        default=timedelta(days=28), description="Rolling window the objective applies to."
    )
    sli: Sli = Field(description="How good events are counted: ratio, latency or probe.")

    @field_validator("objective")
    @classmethod
    def _percentage(cls, value: float) -> float:
        if value < 1:
            raise issue_error(
                f"objective is a percentage, got {value:g}",
                hint=f"for {value * 100:g}% write {value * 100:g}",
            )
        return value

    @property
    def error_budget(self) -> float:
        """The allowed fraction of bad events, e.g. 0.001 for a 99.9 objective."""
        return (100 - self.objective) / 100
