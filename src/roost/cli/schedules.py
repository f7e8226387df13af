"""``roost schedule list|next|lint|runs``: roost.yaml's schedules, when they fire (in the
schedule's zone, in UTC and in yours) and the lint that catches a production scale-down in
business hours."""

from __future__ import annotations

import os
import zoneinfo
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import ProjectOpt
from roost.cli._output import EXIT_INVALID, console, err_console, fail, user_errors
from roost.cli._tables import Table

if TYPE_CHECKING:
    from roost.spec import Project

schedule_app = typer.Typer(
    help="Schedules: actions run on cron in an explicit time zone.", no_args_is_help=True
)

TzOpt = Annotated[
    str | None,
    typer.Option(
        "--tz", help="Your time zone for the last column (default: $TZ, then this machine's)."
    ),
]


def _project(project: Path | None) -> Project:
    from roost.control.workspace import find_project
    from roost.spec import load_project

    with user_errors():
        return load_project(find_project(project))


def _viewer(tz: str | None) -> tuple[tzinfo, str]:
    name = tz or os.environ.get("TZ") or None
    if name:
        try:
            return zoneinfo.ZoneInfo(name), name
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            fail(f"unknown time zone {name!r}", hint="an IANA name, e.g. Europe/London", code=2)
    local = datetime.now(UTC).astimezone().tzinfo
    assert local is not None
    return local, "local"


def _now() -> datetime:
    from roost.clock import RealClock

    return RealClock().now()


def _when(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


@schedule_app.command("list")
def list_schedules(project: ProjectOpt = None, tz: TzOpt = None, output: FormatOpt = None) -> None:
    """Every schedule with its next run in its own zone, in UTC and in yours."""
    from roost.schedules import next_fires
    from roost.schedules.timing import zone_of

    fmt = chosen(output)
    spec = _project(project)
    if fmt is not None:
        from roost.cli._shapes_ops import ScheduleItem, ScheduleList

        items = []
        for name, schedule in spec.schedules.items():
            (fire,) = next_fires(
                schedule.cron, schedule.timezone, schedule.dst, after=_now(), count=1
            )
            items.append(
                ScheduleItem(
                    name=name,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    action=schedule.action,
                    next_at=fire.at.astimezone(UTC).isoformat(),
                    next_at_zone=fire.at.astimezone(zone_of(schedule.timezone)).isoformat(),
                )
            )
        emit(ScheduleList(items=items), fmt)
        return
    viewer, viewer_name = _viewer(tz)
    if not spec.schedules:
        console.print("no schedules in roost.yaml", markup=False)
        return
    now = _now()
    table = Table("schedule", "cron", "zone", "action", "next (its zone)", "UTC", viewer_name)
    for name, schedule in spec.schedules.items():
        (fire,) = next_fires(schedule.cron, schedule.timezone, schedule.dst, after=now, count=1)
        table.add_row(
            name,
            schedule.cron,
            schedule.timezone,
            schedule.action,
            _when(fire.at, zone_of(schedule.timezone)),
            _when(fire.at, UTC),
            _when(fire.at, viewer),
        )
    console.print(table)


@schedule_app.command("next")
def next_runs(
    name: Annotated[str, typer.Argument(help="The schedule (`roost schedule list`).")],
    count: Annotated[int, typer.Option("-n", "--count", min=1, max=1000, help="How many.")] = 10,
    project: ProjectOpt = None,
    tz: TzOpt = None,
    output: FormatOpt = None,
) -> None:
    """The next N runs of NAME in its zone, in UTC and in yours (DST gaps and overlaps marked)."""
    from roost.schedules import next_fires
    from roost.schedules.timing import zone_of
    from roost.spec._issues import did_you_mean

    fmt = chosen(output)
    spec = _project(project)
    schedule = spec.schedules.get(name)
    if schedule is None:
        hint = did_you_mean(name, spec.schedules, listing="schedules are") or "none in roost.yaml"
        fail(f"no schedule {name!r}", hint=hint, code=EXIT_INVALID)
    if fmt is not None:
        from roost.cli._shapes_ops import ScheduleFire, ScheduleNext

        its = zone_of(schedule.timezone)
        fired = next_fires(
            schedule.cron, schedule.timezone, schedule.dst, after=_now(), count=count
        )
        shape = ScheduleNext(
            schedule=name,
            cron=schedule.cron,
            timezone=schedule.timezone,
            action=schedule.action,
            items=[
                ScheduleFire(
                    at=f.at.astimezone(UTC).isoformat(),
                    at_zone=f.at.astimezone(its).isoformat(),
                    note=f.note,
                )
                for f in fired
            ],
        )
        emit(shape, fmt)
        return
    viewer, viewer_name = _viewer(tz)
    zone = zone_of(schedule.timezone)
    table = Table("#", f"{schedule.timezone}", "UTC", viewer_name, "note")
    notes = {
        "": "",
        "gap": "DST gap: moved to the next valid minute",
        "overlap-second": "DST overlap: second run",
    }
    fires = next_fires(schedule.cron, schedule.timezone, schedule.dst, after=_now(), count=count)
    for index, fire in enumerate(fires, start=1):
        table.add_row(
            str(index),
            _when(fire.at, zone),
            _when(fire.at, UTC),
            _when(fire.at, viewer),
            notes[fire.note],
        )
    console.print(f"{name}: {schedule.cron!r} in {schedule.timezone}, {schedule.action}")
    console.print(table)


def lint_warnings(spec: Project) -> list[str]:
    """The schedule lint's warnings, one line each (``roost validate`` prints them too)."""
    from roost.schedules.linting import lint

    return [warning.format() for warning in lint(spec, now=_now())]


@schedule_app.command("lint")
def lint_command(project: ProjectOpt = None) -> None:
    """Warn about a scale-down or stop of a production environment inside its business hours,
    and about times read without an explicit zone. Exit 1 if there is any warning."""
    spec = _project(project)
    warnings = lint_warnings(spec)
    for line in warnings:
        err_console.print(f"warning: {line}", markup=False)
    if warnings:
        raise typer.Exit(1)
    console.print(f"{len(spec.schedules)} schedules: no warnings", markup=False)


@schedule_app.command("runs")
def runs(
    name: Annotated[str | None, typer.Argument(help="One schedule (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 20,
    project: ProjectOpt = None,
    output: FormatOpt = None,
) -> None:
    """The latest run records (claimed ticks), newest first."""
    from roost.control.workspace import open_workspace

    fmt = chosen(output)
    with user_errors(), open_workspace(project) as ws:
        records = ws.store.schedule_runs.list(name, limit=limit)
    if fmt is not None:
        from roost.cli._shapes_ops import ScheduleRunItem, ScheduleRunList

        items = [
            ScheduleRunItem(
                schedule=r.schedule,
                scheduled_at=r.scheduled_at.isoformat(),
                status=r.status,
                claimed_by=r.claimed_by,
                fencing_token=r.fencing_token,
                started_at=r.started_at.isoformat(),
                finished_at=r.finished_at.isoformat() if r.finished_at else None,
                detail=r.detail,
            )
            for r in records
        ]
        emit(ScheduleRunList(items=items), fmt)
        return
    if not records:
        console.print("no schedule has run yet", markup=False)
        return
    table = Table("schedule", "tick (UTC)", "status", "by", "token", "detail")
    for r in records:
        table.add_row(
            r.schedule,
            f"{r.scheduled_at:%Y-%m-%d %H:%M}",
            r.status,
            r.claimed_by,
            str(r.fencing_token or ""),
            r.detail,
        )
    console.print(table)
