"""The schedule lint: warnings (not errors) about schedules that are valid but probably wrong.

* A schedule that scales down or stops an environment marked ``production`` and would fire
  inside that environment's ``business_hours`` — the seed's mistake: a nightly scale-down
  written as ``0 12 * * *`` in UTC (meant for a zone twelve hours away) that scaled
  production down at midday in London. The warning names the first such firing in the
  schedule's zone, in UTC and in the business hours' zone.
* A production environment that a scale-down schedule targets but that declares no business
  hours (nothing to check against).
* A time read without an explicit zone: a freeze window whose ``timezone`` was left to its UTC
  default. (A schedule without one is an error, not a warning: ``roost validate`` refuses it.)

Pure: the project and ``now`` in, warnings out. Firings are checked over the next year (at most
:data:`MAX_FIRES` of them: a minutely schedule meets business hours within a day anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from roost.schedules.timing import fires, zone_of
from roost.spec import Project
from roost.spec.actions import SCALING_DOWN, EnvironmentParams, ScaleParams
from roost.spec.schedules import Schedule

HORIZON = timedelta(days=366)
MAX_FIRES = 2000


@dataclass(frozen=True)
class LintWarning:
    """One warning: ``at`` the roost.yaml path, ``message`` what, ``hint`` what to do."""

    at: str
    message: str
    hint: str

    def format(self) -> str:
        return f"{self.at}: {self.message} (hint: {self.hint})"


def _scales_down(project: Project, schedule: Schedule) -> str | None:
    """The environment ``schedule`` takes capacity from, or None."""
    if schedule.action not in SCALING_DOWN:
        return None
    params = schedule.action_params()
    if isinstance(params, EnvironmentParams):
        return params.environment
    if isinstance(params, ScaleParams):
        try:
            configured = project.service(params.service).replicas_in(params.environment)
        except KeyError:
            return None
        return params.environment if params.replicas < configured else None
    return None


def _days(days: Sequence[str]) -> str:
    return ",".join(days)


def lint(project: Project, *, now: datetime) -> list[LintWarning]:
    """Every warning for ``project`` (see the module doc)."""
    warnings: list[LintWarning] = []
    for name, schedule in project.schedules.items():
        target = _scales_down(project, schedule)
        env = project.environments.get(target) if target is not None else None
        if env is None or not env.production:
            continue
        at = f"schedules.{name}"
        hours = env.business_hours
        if hours is None:
            warnings.append(
                LintWarning(
                    at,
                    f"{schedule.action} of production environment {target!r}, which declares "
                    "no business_hours to check it against",
                    f"declare environments.{target}.business_hours (days, start, end, timezone)",
                )
            )
            continue
        zone = zone_of(hours.timezone)
        own = zone_of(schedule.timezone)
        for count, fire in enumerate(
            fires(schedule.cron, schedule.timezone, schedule.dst, after=now)
        ):
            if fire.at > now + HORIZON or count >= MAX_FIRES:
                break
            local = fire.at.astimezone(zone)
            if not hours.contains(local.weekday(), local.time()):
                continue
            span = f"{_days(hours.days)} {hours.start:%H:%M}-{hours.end:%H:%M} {hours.timezone}"
            warnings.append(
                LintWarning(
                    at,
                    f"{schedule.action} of production environment {target!r} fires inside its "
                    f"business hours ({span}): {schedule.cron!r} in {schedule.timezone} first "
                    f"does so at {fire.at.astimezone(own):%Y-%m-%d %H:%M} {schedule.timezone} = "
                    f"{fire.at:%H:%M} UTC = {local:%H:%M} {hours.timezone}",
                    "check the cron's time zone (a nightly job written in UTC fires by day "
                    "elsewhere), or the target environment",
                )
            )
            break
    for env_name, env in project.environments.items():
        for index, window in enumerate(env.freeze_windows):
            if "timezone" not in window.model_fields_set:
                warnings.append(
                    LintWarning(
                        f"environments.{env_name}.freeze_windows[{index}]",
                        f"freeze window {window.name!r} has no timezone: its times are read as "
                        "UTC by default",
                        "write the zone you mean, e.g. `timezone: Europe/London` (or UTC)",
                    )
                )
    return warnings
