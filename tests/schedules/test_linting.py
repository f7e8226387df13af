"""The schedule lint, on the seed's mistake: a nightly production scale-down written as
``0 12 * * *`` in UTC (meant for a zone twelve hours away) fires at midday in London, inside
production's business hours. `roost validate` warns (exit 0), `roost schedule lint` exits 1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from roost.cli import app
from roost.schedules.linting import lint
from roost.spec import parse_project

SEED = """\
project: seed
version: 1
environments:
  staging: {}
  production:
    production: true
    business_hours: {timezone: Europe/London, start: "09:00", end: "17:30"}
    freeze_windows:
      - name: launch
        start: 2026-03-01T08:00:00
        end: 2026-03-01T20:00:00
services:
  - name: web
    command: python3 app.py
    replicas: 3
schedules:
  nightly-scale-down:
    cron: "0 12 * * *"
    timezone: UTC
    dst: {gap: skip, overlap: once}
    action: scale
    params: {service: web, environment: production, replicas: 1}
  staging-nightly-stop:
    cron: "0 20 * * *"
    timezone: Europe/London
    dst: {gap: skip, overlap: once}
    action: stop-environment
    params: {environment: staging}
  production-stop-at-night:
    cron: "0 23 * * *"
    timezone: Europe/London
    dst: {gap: skip, overlap: once}
    action: stop-environment
    params: {environment: production}
"""
MONDAY = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def test_the_seeds_midday_production_scale_down_fires_the_lint() -> None:
    warnings = lint(parse_project(SEED, filename="roost.yaml"), now=MONDAY)
    by_place = {w.at: w for w in warnings}
    scale_down = by_place["schedules.nightly-scale-down"]
    assert scale_down.message == (
        "scale of production environment 'production' fires inside its business hours "
        "(mon,tue,wed,thu,fri 09:00-17:30 Europe/London): '0 12 * * *' in UTC first does so at "
        "2026-12-07 12:00 UTC = 12:00 UTC = 12:00 Europe/London"
    )
    assert "time zone" in scale_down.hint
    # Staging is not production, and a production stop at 23:00 London is outside its hours.
    assert "schedules.staging-nightly-stop" not in by_place
    assert "schedules.production-stop-at-night" not in by_place
    # The freeze window that reads its times in UTC by default.
    assert by_place["environments.production.freeze_windows[0]"].message.startswith(
        "freeze window 'launch' has no timezone"
    )
    assert len(warnings) == 2


def test_in_summer_the_utc_midday_is_one_pm_in_london() -> None:
    summer = datetime(2026, 7, 6, 6, 0, tzinfo=UTC)  # a Monday, BST
    (warning, _) = lint(parse_project(SEED, filename="roost.yaml"), now=summer)
    assert warning.message.endswith("= 12:00 UTC = 13:00 Europe/London")


def test_a_scale_up_or_a_weekend_only_job_is_not_flagged() -> None:
    fixed = SEED.replace("replicas: 1}", "replicas: 5}")  # more than roost.yaml's 3: not a cut
    assert [w.at for w in lint(parse_project(fixed, filename="r.yaml"), now=MONDAY)] == [
        "environments.production.freeze_windows[0]"
    ]
    weekend = SEED.replace('"0 12 * * *"', '"0 12 * * SAT,SUN"')
    assert "schedules.nightly-scale-down" not in {
        w.at for w in lint(parse_project(weekend, filename="r.yaml"), now=MONDAY)
    }


def test_a_production_target_without_business_hours_is_flagged() -> None:
    bare = SEED.replace(
        '    business_hours: {timezone: Europe/London, start: "09:00", end: "17:30"}\n', ""
    )
    warnings = lint(parse_project(bare, filename="r.yaml"), now=MONDAY)
    assert {w.at for w in warnings} >= {
        "schedules.nightly-scale-down",
        "schedules.production-stop-at-night",
    }
    assert "declares no business_hours" in warnings[0].message


def test_validate_warns_and_schedule_lint_fails(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(SEED)
    validated = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert validated.exit_code == 0, validated.output
    assert "warning: schedules.nightly-scale-down: scale of production environment" in (
        validated.output
    )
    linted = CliRunner().invoke(app, ["schedule", "lint", "--project", str(tmp_path)])
    assert linted.exit_code == 1
    assert "warning: schedules.nightly-scale-down" in linted.output
    clean = SEED.split("schedules:", maxsplit=1)[0].replace(
        "        start: 2026", "        timezone: UTC\n        start: 2026"
    )
    (tmp_path / "roost.yaml").write_text(clean)
    ok = CliRunner().invoke(app, ["schedule", "lint", "--project", str(tmp_path)])
    assert (ok.exit_code, ok.output) == (0, "0 schedules: no warnings\n")


def test_a_missing_zone_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(SEED.replace("    timezone: UTC\n", ""))
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "a schedule needs a time zone: roost never assumes UTC" in result.output


def test_schedule_next_shows_its_zone_utc_and_yours(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(SEED)
    result = CliRunner().invoke(
        app,
        [
            "schedule",
            "next",
            "staging-nightly-stop",
            "-n",
            "3",
            "--project",
            str(tmp_path),
            "--tz",
            "Australia/Lord_Howe",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(rows) == 3
    for row in rows:
        cells = [c.strip() for c in row.strip("│").split("│")]
        # Each row is one instant: 20:00 in London (GMT or BST), and the same instant in UTC
        # and on Lord Howe (+10:30 or +11), whatever the season the test runs in.
        utc = datetime.strptime(cells[2], "%a %Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
        london = utc.astimezone(ZoneInfo("Europe/London"))
        assert london.strftime("%H:%M") == "20:00"
        assert cells[1] == london.strftime("%a %Y-%m-%d %H:%M %Z")
        assert cells[3] == utc.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime(
            "%a %Y-%m-%d %H:%M %Z"
        )
    unknown = CliRunner().invoke(app, ["schedule", "next", "nightly", "--project", str(tmp_path)])
    assert unknown.exit_code == 2
    assert "no schedule 'nightly'" in unknown.output
