"""Service level objectives: what "good enough" means for a service, and its error budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import Issue, issue_error, issues_error
from roost.spec.durations import PositiveDuration, format_span
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
    """The share of successful synthetic requests that roost sends on its own (black-box):
    the agent sends ``GET path`` to the service's public listener every ``interval``."""

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


@dataclass(frozen=True)
class DefaultAlert:
    """One of the alert tiers an SLO without ``alerts`` gets, as the share of the error budget
    it stands for (``roost.slo.tiers`` turns these into burn-rate thresholds for the SLO's
    window). They live here, in the spec, so that ``roost validate`` refuses a window they do
    not fit in — the same check ``roost slo rules`` and the SLO watcher would fail later."""

    name: str
    severity: Literal["page", "ticket"]
    budget_spent: float
    long_window: timedelta
    short_window: timedelta


DEFAULT_ALERTS: tuple[DefaultAlert, ...] = (
    # SRE Workbook, table 5-8: 14.4x over 1h on 30 days is 2 % of the budget in an hour,
    DefaultAlert("page-fast", "page", 0.02, timedelta(hours=1), timedelta(minutes=5)),
    # 6x over 6h is 5 % in six hours,
    DefaultAlert("page-slow", "page", 0.05, timedelta(hours=6), timedelta(minutes=30)),
    # and 1x over 3d is 10 % in three days.
    DefaultAlert("ticket", "ticket", 0.10, timedelta(days=3), timedelta(hours=6)),
)


class SloAlert(SpecModel):
    """A multiwindow burn-rate alert: fire when the error budget burns faster than
    ``burn_rate`` over both ``long_window`` and ``short_window`` (SRE Workbook, chapter 5)."""

    name: Name = Field(description="Unique within the SLO, e.g. page-fast.")
    severity: Literal["page", "ticket"] = Field(
        default="page", description="page (wake someone) or ticket (look at it this week)."
    )
    burn_rate: float = Field(
        gt=0,
        description="Burn-rate threshold for this SLO's own window: 1 spends exactly the budget "
        "over the window; 14.4 over 1h is the workbook's fast page for a 30-day SLO.",
    )
    long_window: PositiveDuration = Field(description="Enough budget is really being spent.")
    short_window: PositiveDuration = Field(
        description="It is still happening (so the alert resolves soon after recovery)."
    )


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

    alerts: list[SloAlert] | None = Field(
        default=None,
        description="Burn-rate alert tiers. Default: the workbook's tiers (page at 2% of the "
        "budget in 1h and at 5% in 6h, ticket at 10% in 3d) scaled to the window.",
    )

    @field_validator("objective")
    @classmethod
    def _percentage(cls, value: float) -> float:
        if value < 1:
            raise issue_error(
                f"objective is a percentage, got {value:g}",
                hint=f"for {value * 100:g}% write {value * 100:g}",
            )
        return value

    @model_validator(mode="after")
    def _alerts_fit(self) -> Slo:
        issues: list[Issue] = []
        if self.alerts is None:
            issues += self._defaults_fit()
        seen: set[str] = set()
        for i, alert in enumerate(self.alerts or []):
            if alert.name in seen:
                issues.append(
                    Issue(f"alert name {alert.name!r} is used twice", ("alerts", i, "name"))
                )
            seen.add(alert.name)
            if alert.long_window > self.window:
                issues.append(
                    Issue(
                        f"long_window {format_span(alert.long_window)} is longer than the SLO "
                        f"window {format_span(self.window)}",
                        ("alerts", i, "long_window"),
                        hint="an alert window must fit in the SLO window",
                    )
                )
            elif alert.burn_rate * alert.long_window / self.window > 1:
                issues.append(
                    Issue(
                        f"burn_rate {alert.burn_rate:g} over {format_span(alert.long_window)} "
                        "would spend more than the whole budget",
                        ("alerts", i, "burn_rate"),
                        hint=f"at most {self.window / alert.long_window:g} for this window",
                    )
                )
            if alert.short_window >= alert.long_window:
                issues.append(
                    Issue(
                        "short_window must be shorter than long_window",
                        ("alerts", i, "short_window"),
                        hint="the workbook uses a twelfth of the long window",
                    )
                )
        if issues:
            raise issues_error(issues)
        return self

    def _defaults_fit(self) -> list[Issue]:
        longest = max(DEFAULT_ALERTS, key=lambda alert: alert.long_window)
        if longest.long_window <= self.window:
            return []
        return [
            Issue(
                f"window {format_span(self.window)} is shorter than the "
                f"{format_span(longest.long_window)} long window of the default "
                f"{longest.name} alert",
                ("window",),
                hint=f"use a window of at least {format_span(longest.long_window)}, or set "
                "`alerts:` with long windows that fit in it",
            )
        ]

    @property
    def error_budget(self) -> float:
        """The allowed fraction of bad events, e.g. 0.001 for a 99.9 objective."""
        return (100 - self.objective) / 100
