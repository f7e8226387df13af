"""``schedules:`` (a cron expression in an explicit IANA time zone, an explicit DST policy, what
to do about runs missed while no control plane led, concurrency, and the action to run) and the
``business_hours:`` an environment declares.

There is no implicit UTC: a schedule without ``timezone`` is refused, because a nightly job
written as ``0 20 * * *`` "in UTC" by accident is the seed's midday production scale-down. When a
cron time does not exist (the spring-forward gap) or happens twice (the autumn overlap), the
schedule says what it wants instead of inheriting a library's choice.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import time
from typing import Any, Literal

from pydantic import Field, ValidationError, field_serializer, field_validator, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import Issue, did_you_mean, issue_error, issues_error
from roost.spec.actions import ACTION_PARAMS
from roost.spec.crons import cron_problem
from roost.spec.durations import PositiveDuration
from roost.spec.fields import describe

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def zone_problem(name: object) -> Issue | None:
    """Why ``name`` is not an IANA time zone (located at ``timezone``), or None."""
    if not isinstance(name, str):
        return Issue(f"expected a time zone name, got {describe(name)}", at=("timezone",))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        names = sorted(zoneinfo.available_timezones())
        region = [zone for zone in names if zone.startswith(f"{name}/")]
        hint = (
            f"{name} is a region, not a time zone: use e.g. {region[0]}"
            if region
            else did_you_mean(name, names) or "use an IANA name like Europe/London or UTC"
        )
        return Issue(f"unknown time zone {describe(name)}", at=("timezone",), hint=hint)
    return None


def _require_zone(data: Any, what: str, example: str) -> None:
    """No implicit UTC: refuse a missing ``timezone`` with a message that says so."""
    if not isinstance(data, dict):
        return
    if "timezone" not in data:
        raise issue_error(
            f"{what} needs a time zone: roost never assumes UTC",
            hint=f"add an IANA name, e.g. `timezone: {example}`; write `timezone: UTC` if you "
            "mean UTC",
        )
    problem = zone_problem(data["timezone"])
    if problem is not None:
        raise issues_error([problem])


def _clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value  # a model built in code, or a dump read back
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 17:00 as the base-60 number 1020.
        raise ValueError('write times in quotes, e.g. "17:00" (unquoted, YAML reads a number)')
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise ValueError(f'expected a time of day like "09:00", got {describe(value)}')
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _weekdays() -> list[Day]:
    return ["mon", "tue", "wed", "thu", "fri"]


class BusinessHours(SpecModel):
    """When people rely on an environment: the schedule lint warns about a schedule that would
    scale it down or stop it in these hours (for environments marked ``production``)."""

    timezone: str = Field(description="IANA time zone of the hours, e.g. Europe/London.")
    days: list[Day] = Field(
        default_factory=_weekdays,
        min_length=1,
        description="Days they apply (mon … sun).",
    )
    start: time = Field(description='First minute, e.g. "09:00" (quoted).')
    end: time = Field(description='End, exclusive, e.g. "17:30" (quoted); after start.')

    @model_validator(mode="before")
    @classmethod
    def _zone(cls, data: Any) -> Any:
        _require_zone(data, "business_hours", "Europe/London")
        return data

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time:
        return _clock_time(value)

    @field_serializer("start", "end")
    def _dump_time(self, value: time) -> str:
        return value.strftime("%H:%M")  # as it is written, so a dump reads back

    @model_validator(mode="after")
    def _order(self) -> BusinessHours:
        if self.end <= self.start:
            raise issue_error("end must be after start", at=("end",))
        return self

    def contains(self, weekday: int, at: time) -> bool:
        """Whether local ``weekday`` (0 = Monday) at local time ``at`` is inside them."""
        return DAYS[weekday] in self.days and self.start <= at < self.end


class DstPolicy(SpecModel):
    """What a schedule does at the two DST transitions of its time zone."""

    gap: Literal["skip", "next-valid-minute"] = Field(
        description="A cron time that does not exist (spring forward): skip it, or run at the "
        "first minute after the gap."
    )
    overlap: Literal["once", "twice"] = Field(
        description="A cron time that happens twice (fall back): run at the first, or at both."
    )


class MissedRuns(SpecModel):
    """Ticks that passed while no control plane led (downtime, a long failover)."""

    policy: Literal["none", "latest", "all"] = Field(
        default="latest",
        description="none: skip them; latest: run the most recent one; all: run each (oldest "
        "first, at most 100).",
    )
    starting_deadline: PositiveDuration | None = Field(
        default=None,
        description="A tick later than this is never started (like Kubernetes CronJob's "
        "startingDeadlineSeconds); none: no limit for latest/all, 1m for none.",
    )


def _param_issues(action: str, model: type[SpecModel], exc: ValidationError) -> list[Issue]:
    """The params' errors in roost.yaml's own words, located inside ``params``."""
    # Imported here: the locator knows every model of the project, this one included.
    from roost.spec.locating import _message

    issues = []
    names = ", ".join(model.model_fields)
    for error in exc.errors():
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            issues.append(
                Issue(
                    f"{action} takes no parameter {describe(loc[-1])}",
                    at=("params", *loc),
                    hint=f"its parameters are {names}",
                )
            )
        elif error["type"] == "missing":
            issues.append(
                Issue(
                    f"{action} needs the parameter {describe(loc[-1])}",
                    at=("params", *loc[:-1]),
                    hint=f"its parameters are {names}",
                )
            )
        else:
            message, hint = _message(error)
            issues.append(Issue(message, at=("params", *loc), hint=hint))
    return issues


class Schedule(SpecModel):
    """Run an action on a cron schedule in an explicit time zone."""

    description: str | None = Field(default=None, description="What it is for, for people.")
    cron: str = Field(
        description='Five-field cron in the schedule\'s zone, e.g. "0 20 * * MON-FRI".'
    )
    timezone: str = Field(description="IANA time zone the cron is read in (required, no default).")
    dst: DstPolicy = Field(description="What to do with cron times DST skips or repeats.")
    missed: MissedRuns = Field(
        default_factory=MissedRuns, description="What to do with ticks missed during downtime."
    )
    concurrency: Literal["allow", "forbid", "replace"] = Field(
        default="forbid",
        description="When a tick comes while the previous run still runs: allow both, forbid "
        "(skip the new tick) or replace (cancel the running one).",
    )
    action: str = Field(description="The action to run (see docs/actions.md).")
    params: dict[str, Any] = Field(default_factory=dict, description="The action's parameters.")

    @model_validator(mode="before")
    @classmethod
    def _zone(cls, data: Any) -> Any:
        _require_zone(data, "a schedule", "Europe/London")
        return data

    @model_validator(mode="after")
    def _check(self) -> Schedule:
        issues: list[Issue] = []
        problem = cron_problem(self.cron)
        if problem:
            issues.append(
                Issue(
                    f"{describe(self.cron)} is not a cron expression: {problem}",
                    at=("cron",),
                    hint='use minute hour day-of-month month day-of-week, e.g. "0 20 * * MON-FRI"',
                )
            )
        model = ACTION_PARAMS.get(self.action)
        if model is None:
            issues.append(
                Issue(
                    f"unknown action {describe(self.action)}",
                    at=("action",),
                    hint=did_you_mean(self.action, ACTION_PARAMS, listing="actions are"),
                )
            )
        else:
            try:
                model.model_validate(self.params)
            except ValidationError as exc:
                issues += _param_issues(self.action, model, exc)
        if issues:
            raise issues_error(issues)
        return self

    def action_params(self) -> SpecModel:
        """``params`` as the action's model (validated when the file was loaded)."""
        return ACTION_PARAMS[self.action].model_validate(self.params)
