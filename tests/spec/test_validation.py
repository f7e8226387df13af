"""Rules of the models themselves, also when they are built in Python rather than loaded."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from roost.spec import (
    Analysis,
    Approval,
    Check,
    ConfigFile,
    FreezeWindow,
    HttpProbe,
    Probe,
    Project,
    Service,
    SpecError,
    parse_project,
)
from roost.spec.crons import cron_problem
from roost.spec.fields import cpu_millicores, memory_bytes, status_bounds
from roost.spec.versions import SchemaCompat, version_in_range


def _project(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "project": "shop",
        "version": 1,
        "environments": {"dev": {}, "prod": {"promote_from": "dev"}},
        "services": [{"name": "web", "command": "./web"}],
    }
    data.update(changes)
    return data


def test_project_built_in_python_checks_references() -> None:
    services = [{"name": "web", "command": "a"}, {"name": "web", "command": "b"}]
    with pytest.raises(ValidationError) as caught:
        Project.model_validate(_project(services=services))
    assert 'services[1].name: duplicate service name "web" (first defined at services[0].name)' in (
        str(caught.value)
    )


def test_promotion_to_itself() -> None:
    with pytest.raises(ValidationError, match="cannot promote from itself"):
        Project.model_validate(_project(environments={"dev": {"promote_from": "dev"}}))


def test_promotion_order_follows_promote_from() -> None:
    environments = {
        "prod": {"promote_from": "staging"},
        "staging": {"promote_from": "dev"},
        "dev": {},
    }
    project = Project.model_validate(_project(environments=environments))
    assert project.promotion_order() == ["dev", "staging", "prod"]


def test_service_lookup() -> None:
    project = Project.model_validate(_project())
    assert project.service("web").name == "web"
    with pytest.raises(KeyError):
        project.service("nope")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python3 -m http.server", ["python3", "-m", "http.server"]),
        ("sh -c 'echo hi'", ["sh", "-c", "echo hi"]),
        (["./run", "--flag"], ["./run", "--flag"]),
    ],
)
def test_command_forms(command: object, expected: list[str]) -> None:
    service = Service.model_validate({"name": "web", "command": command})
    assert service.command == expected


@pytest.mark.parametrize(
    ("command", "message"),
    [("", "the command is empty"), ([], "the command is empty"), ("echo 'open", "quotes")],
)
def test_bad_commands(command: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Service.model_validate({"name": "web", "command": command})


def test_probe_needs_a_handler() -> None:
    with pytest.raises(ValidationError, match="needs one of http, tcp or exec"):
        Probe.model_validate({"period": "5s"})


def test_probe_defaults_are_kubernetes_defaults() -> None:
    probe = Probe.model_validate({"tcp": None})
    assert probe.tcp is not None
    assert (probe.period.total_seconds(), probe.timeout.total_seconds()) == (10, 1)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
    assert probe.handler is probe.tcp


def test_http_probe_status_range() -> None:
    assert status_bounds(HttpProbe().expect_status) == (200, 399)
    assert HttpProbe.model_validate({"expect_status": 204}).expect_status == "204"
    with pytest.raises(ValidationError, match="empty range"):
        HttpProbe.model_validate({"expect_status": "399-200"})


def test_startup_success_threshold_must_be_one() -> None:
    data = {
        "name": "web",
        "command": "x",
        "probes": {"startup": {"tcp": {}, "success_threshold": 3}},
    }
    with pytest.raises(ValidationError, match="startup probes must have success_threshold 1"):
        Service.model_validate(data)


def test_readiness_may_require_several_successes() -> None:
    data = {
        "name": "web",
        "command": "x",
        "probes": {"readiness": {"tcp": {}, "success_threshold": 3}},
    }
    assert Service.model_validate(data).probes.readiness is not None


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"metric": "error_ratio"}, "needs max, min or both"),
        ({"metric": "error_ratio", "max": 5}, "for 5% write 0.05"),
        ({"metric": "latency_p95", "max": "fast"}, "is not a duration"),
        ({"metric": "request_rate", "min": 10, "max": 1}, "min is above max"),
        ({"metric": "request_rate", "min": -1}, "must not be negative"),
        ({"metric": "cpu", "max": 1}, "Input should be"),
    ],
)
def test_bad_checks(check: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Check.model_validate(check)


def test_latency_thresholds_are_seconds_and_dump_as_durations() -> None:
    check = Check.model_validate({"metric": "latency_p99", "max": "1s500ms"})
    assert check.max == 1.5
    assert check.model_dump() == {"metric": "latency_p99", "max": "1s500ms", "min": None}


def test_analysis_needs_evidence() -> None:
    with pytest.raises(ValidationError, match="needs checks, compare_to_stable or both"):
        Analysis.model_validate({})


def test_approval_must_be_satisfiable() -> None:
    with pytest.raises(ValidationError, match="2 approvals are needed but only 1"):
        Approval.model_validate({"required": True, "min_approvals": 2, "approvers": ["alice"]})


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"name": "x"}, "needs start and end, or cron and duration"),
        ({"name": "x", "start": "2026-01-02"}, "start needs end as well"),
        ({"name": "x", "cron": "@daily"}, "cron needs duration as well"),
        ({"name": "x", "start": "2026-01-02", "end": "2026-01-01"}, "end must be after start"),
        (
            {"name": "x", "start": "2026-01-01", "end": "2026-01-02", "cron": "@daily"},
            "either start/end or cron/duration",
        ),
        ({"name": "x", "cron": "0 16 * *", "duration": "1h"}, "expected 5 fields"),
    ],
)
def test_bad_freeze_windows(window: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FreezeWindow.model_validate(window)


@pytest.mark.parametrize(
    "expression", ["0 16 * * FRI", "*/15 9-17 * * mon-fri", "0 0 1,15 jan,jul *", "@weekly"]
)
def test_good_crons(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    "expression", ["0 24 * * *", "60 * * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "@often"]
)
def test_bad_crons(expression: str) -> None:
    assert cron_problem(expression) is not None


@pytest.mark.parametrize(
    ("requires", "allowed", "refused"),
    [(">=6,<8", [6, 7], [5, 8]), ("7", [7], [6, 8]), ("!=3", [2, 4], [3]), (">2", [3], [2])],
)
def test_schema_ranges(requires: object, allowed: list[int], refused: list[int]) -> None:
    compat = SchemaCompat.model_validate({"requires": requires})
    assert all(compat.allows(v) for v in allowed)
    assert not any(compat.allows(v) for v in refused)


@pytest.mark.parametrize("requires", [">=6;<8", "6-8", ">=x", "", "<0", ">=8,<6"])
def test_bad_schema_ranges(requires: str) -> None:
    with pytest.raises(ValidationError, match="version range"):
        SchemaCompat.model_validate({"requires": requires})


def test_migration_must_be_inside_the_range() -> None:
    with pytest.raises(ValidationError, match="migrates_to 8 is outside"):
        SchemaCompat.model_validate({"requires": ">=6,<8", "migrates_to": 8})
    assert version_in_range(7, ">=6,<8")


def test_config_file_needs_one_origin_and_a_safe_path() -> None:
    with pytest.raises(ValidationError, match="exactly one of source or content"):
        ConfigFile.model_validate({"path": "a", "source": "b", "content": "c"})
    with pytest.raises(ValidationError, match="inside the working directory"):
        ConfigFile.model_validate({"path": "../../etc/passwd", "content": "x"})


def test_service_level_duplicates() -> None:
    data = {
        "name": "web",
        "command": "x",
        "env": {"TOKEN": "a"},
        "secrets": [{"name": "TOKEN", "from": "env:T"}, {"name": "TOKEN", "from": "env:U"}],
    }
    with pytest.raises(ValidationError) as caught:
        Service.model_validate(data)
    text = str(caught.value)
    assert 'duplicate secret name "TOKEN"' in text
    assert '"TOKEN" is both in env and a secret' in text


def test_env_values_from_yaml_numbers_become_strings() -> None:
    service = Service.model_validate({"name": "web", "command": "x", "env": {"N": 4, "F": 0.5}})
    assert service.env == {"N": "4", "F": "0.5"}


def test_quantities() -> None:
    assert memory_bytes("512Mi") == 512 * 1024**2
    assert memory_bytes("1G") == 10**9
    assert cpu_millicores("500m") == 500
    assert cpu_millicores("1.5") == 1500


def test_analysis_step_without_any_checks_is_an_error() -> None:
    text = """\
project: shop
version: 1
environments: {dev: {}}
defaults:
  rollout:
    strategy: canary
    steps: [{set_weight: 10}, {analysis: {}}]
services:
  - name: web
    command: ./web
"""
    with pytest.raises(SpecError) as caught:
        parse_project(text, filename="roost.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (9, 11)
    assert "defaults.rollout.steps[1] analyses" in problem.message


def test_blue_green_rules() -> None:
    base = {"name": "web", "command": "x", "port": 8080}
    with pytest.raises(ValidationError, match="preview_port must differ"):
        Service.model_validate(
            {**base, "rollout": {"strategy": "blue_green", "preview_port": 8080}}
        )
    with pytest.raises(ValidationError, match="auto_promote_after has no effect"):
        Service.model_validate(
            {**base, "rollout": {"strategy": "blue_green", "auto_promote_after": "5m"}}
        )
