"""Environments: where services run, and the guardrails around deploying there."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import Issue, did_you_mean, issue_error, issues_error
from roost.spec.crons import cron_problem
from roost.spec.durations import Duration, PositiveDuration
from roost.spec.fields import EnvVars, Name, describe, moment
from roost.spec.scans import EnvironmentScan
from roost.spec.schedules import BusinessHours


class LocalRuntime(SpecModel):
    """Supervised processes on this machine, behind roost's own router."""

    kind: Literal["local"] = Field(description="local")
    workdir: str | None = Field(
        default=None, description="Where replicas run and log; default: .roost/run/<environment>."
    )
    isolation: Literal["process", "podman"] = Field(
        default="process", description="Plain processes, or podman containers when installed."
    )


class KubernetesRuntime(SpecModel):
    """Deployments per revision in a Kubernetes cluster; traffic split by the Gateway API or
    Istio."""

    kind: Literal["kubernetes"] = Field(description="kubernetes")
    namespace: Name = Field(description="Namespace to deploy into.")
    context: str | None = Field(
        default=None, description="kubeconfig context; default: the current context."
    )
    kubeconfig: str | None = Field(
        default=None, description="kubeconfig path; default: $KUBECONFIG or ~/.kube/config."
    )
    traffic: Literal["gateway_api", "istio"] = Field(
        default="gateway_api",
        description="How weights are set: Gateway API HTTPRoute or Istio VirtualService.",
    )
    gateway: str | None = Field(
        default=None, description="Gateway API: name of the Gateway that HTTPRoutes attach to."
    )


Runtime = Annotated[LocalRuntime | KubernetesRuntime, Field(discriminator="kind")]


class Approval(SpecModel):
    """Human sign-off before a release reaches this environment."""

    required: bool = Field(default=False, description="Whether deploys wait for approval.")
    min_approvals: int = Field(default=1, ge=1, description="Approvals needed.")
    four_eyes: bool = Field(
        default=True, description="Whoever requested the deploy cannot approve it."
    )
    approvers: list[str] = Field(
        default_factory=list, description="Who may approve (user names); empty: anyone."
    )
    expires_after: Duration | None = Field(
        default=timedelta(hours=24),
        description="An approval request not granted within this is dropped; null: never.",
    )

    @model_validator(mode="after")
    def _satisfiable(self) -> Approval:
        if self.approvers and len(set(self.approvers)) < self.min_approvals:
            raise issue_error(
                f"{self.min_approvals} approvals are needed but only "
                f"{len(set(self.approvers))} people may approve",
                at=("min_approvals",),
                hint="lower min_approvals or list more approvers",
            )
        return self


class FreezeWindow(SpecModel):
    """A time when deploys to this environment are refused (rollbacks are still allowed unless
    ``allow_rollback`` is false).

    Either a one-off window (``start``/``end``) or a recurring one (``cron`` + ``duration``).
    Times without an offset are in ``timezone``; they are stored with the offset applied.
    """

    name: str = Field(min_length=1, description="Shown when a deploy is refused.")
    reason: str | None = Field(default=None, description="Why; shown when a deploy is refused.")
    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Berlin.")
    start: datetime | None = Field(
        default=None, description="One-off window: first moment frozen (a date means midnight)."
    )
    end: datetime | None = Field(default=None, description="One-off window: end, exclusive.")
    cron: str | None = Field(
        default=None,
        description='Recurring window: when it starts, five-field cron, e.g. "0 16 * * FRI".',
    )
    duration: PositiveDuration | None = Field(
        default=None, description="Recurring window: how long it lasts, e.g. 64h."
    )
    allow_rollback: bool = Field(default=True, description="Whether rollbacks may still run.")

    @model_validator(mode="before")
    @classmethod
    def _localize(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        zone = _zone(data.get("timezone", "UTC"))
        if zone is None:
            return data
        localized = dict(data)
        for key in ("start", "end"):
            if data.get(key) is not None:
                localized[key] = moment(
                    data[key],
                    zone=zone,
                    at=(key,),
                    hint="use ISO 8601, e.g. 2024-12-23 or 2024-12-23T18:00",
                )
        return localized

    @model_validator(mode="after")
    def _one_form(self) -> FreezeWindow:
        issues = []
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off and recurring:
            issues.append(
                Issue(
                    "a freeze window is either start/end or cron/duration, not both",
                    at=("cron" if self.cron is not None else "duration",),
                )
            )
        elif one_off or recurring:
            pair = ("start", "end") if one_off else ("cron", "duration")
            for key, other in (pair, pair[::-1]):
                if getattr(self, key) is None:
                    issues.append(Issue(f"{other} needs {key} as well", at=(other,)))
        else:
            issues.append(
                Issue(
                    "a freeze window needs start and end, or cron and duration",
                    hint='e.g. `cron: "0 16 * * FRI"` and `duration: 64h`',
                )
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            issues.append(Issue("end must be after start", at=("end",)))
        if self.cron is not None:
            problem = cron_problem(self.cron)
            if problem:
                issues.append(
                    Issue(
                        f"{describe(self.cron)} is not a cron expression: {problem}",
                        at=("cron",),
                        hint='use minute hour day-of-month month day-of-week, e.g. "0 16 * * FRI"',
                    )
                )
        if issues:
            raise issues_error(issues)
        return self


def _zone(name: Any) -> zoneinfo.ZoneInfo | None:
    if not isinstance(name, str):
        raise issue_error(f"expected a time zone name, got {describe(name)}", at=("timezone",))
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: names like "../x" or "" that are not even a valid key, or a file of the
        # zone database that is not a zone (zone.tab); OSError: a folder of it ("America").
        names = sorted(zoneinfo.available_timezones())
        region = [zone for zone in names if zone.startswith(f"{name}/")]
        if region:
            suggestion = f"{name} is a region, not a time zone: use e.g. {region[0]}"
        else:
            suggestion = did_you_mean(name, names) or "use an IANA name like Europe/Berlin or UTC"
        raise issue_error(
            f"unknown time zone {describe(name)}", at=("timezone",), hint=suggestion
        ) from None


class Environment(SpecModel):
    """A deploy target with its runtime, its guardrails and its place in the promotion order.

    Promotion: an environment with ``promote_from: staging`` only accepts releases that are
    running healthy in staging (for at least ``soak_time``). Environments without
    ``promote_from`` accept any release. The order must not loop.
    """

    description: str | None = Field(default=None, description="What it is, for people.")
    runtime: Runtime = Field(
        default_factory=lambda: LocalRuntime(kind="local"),
        description="Where services run: local (default) or kubernetes.",
    )
    promote_from: str | None = Field(
        default=None,
        description="Environment a release must be healthy in before it comes here; null: any "
        "release can be deployed directly.",
    )
    soak_time: Duration = Field(
        default=timedelta(0),
        description="How long the release must have run healthy in promote_from.",
    )
    approval: Approval = Field(default_factory=Approval, description="Human sign-off.")
    freeze_windows: list[FreezeWindow] = Field(
        default_factory=list, description="Times when deploys are refused."
    )
    error_budget_gate: bool = Field(
        default=False,
        description="Refuse deploys (not rollbacks) while a service's error budget here is spent.",
    )
    env: EnvVars = Field(
        default_factory=dict,
        description="Environment variables for every service here (a service's env wins).",
    )
    scan: EnvironmentScan = Field(
        default_factory=EnvironmentScan,
        description="Vulnerability gate: the worst unwaived finding a deployed release may have.",
    )
    production: bool = Field(
        default=False,
        description="Whether people rely on it: the schedule lint warns about scale-downs and "
        "stops that would fire in its business hours.",
    )
    business_hours: BusinessHours | None = Field(
        default=None, description="When it is relied on (days, start, end, time zone)."
    )
