"""examples/shop/roost.yaml is the documentation of the format; it must stay valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from roost.spec import (
    AnalysisStep,
    BlueGreenRollout,
    CanaryRollout,
    PauseStep,
    Project,
    SetWeightStep,
    find_project_file,
    load_project,
)
from roost.spec._base import SpecModel

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop" / "roost.yaml"


def test_the_example_validates() -> None:
    project = load_project(EXAMPLE)
    assert project.project == "shop"
    assert list(project.environments) == ["dev", "staging", "production"]
    assert [service.name for service in project.services] == ["web", "worker"]


def test_the_example_is_found_in_its_directory() -> None:
    assert find_project_file(EXAMPLE.parent) == EXAMPLE


def test_the_example_shows_the_guardrails_of_production() -> None:
    production = load_project(EXAMPLE).environments["production"]
    assert production.approval.required
    assert production.approval.four_eyes
    assert production.error_budget_gate
    assert production.promote_from == "staging"
    weekend, year_end = production.freeze_windows
    assert weekend.timezone == "Europe/Berlin"
    assert weekend.cron == "0 16 * * FRI"
    assert weekend.duration == timedelta(hours=64)
    assert year_end.start is not None
    # 2026-12-21 00:00 in Berlin is 23:00 UTC the day before (CET, UTC+1).
    assert year_end.start.astimezone(UTC) == datetime(2026, 12, 20, 23, tzinfo=UTC)


def test_the_example_covers_every_probe_kind_and_both_strategies() -> None:
    web, worker = load_project(EXAMPLE).services
    assert web.probes.startup is not None
    assert web.probes.startup.http is not None
    assert web.probes.liveness is not None
    assert web.probes.liveness.tcp is not None
    assert worker.probes.startup is not None
    assert worker.probes.startup.exec is not None
    assert isinstance(web.rollout, CanaryRollout)
    kinds = {type(step) for step in web.rollout.steps}
    assert kinds == {SetWeightStep, PauseStep, AnalysisStep}
    assert isinstance(worker.rollout, BlueGreenRollout)
    assert {slo.sli.kind for slo in web.slos} == {"ratio", "latency", "probe"}
    assert web.db_schema is not None
    assert web.db_schema.allows(7)
    assert web.warmup is not None
    assert web.warmup.until_p95_below == timedelta(milliseconds=50)


def test_the_example_applies_defaults_and_per_environment_replicas() -> None:
    project = load_project(EXAMPLE)
    web = project.resolved_service("web")
    worker = project.resolved_service("worker")
    assert web.resources is not None
    assert web.resources.memory == "512Mi"
    assert worker.resources is not None
    assert worker.resources.memory == "256Mi"
    assert [web.replicas_in(env) for env in ("dev", "staging", "production")] == [1, 1, 3]
    assert not worker.runs_in("dev")
    assert project.promotion_order() == ["dev", "staging", "production"]


def test_the_example_round_trips() -> None:
    project = load_project(EXAMPLE)
    assert Project.model_validate(project.model_dump(by_alias=True)) == project
    assert Project.model_validate_json(project.model_dump_json(by_alias=True)) == project


def test_every_field_of_every_model_appears_in_the_example() -> None:
    """The example is the documentation: each field is at least mentioned in it."""
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = set()
    stack: list[type[SpecModel]] = [SpecModel]
    while stack:
        model = stack.pop()
        stack += model.__subclasses__()
        for name, info in model.model_fields.items():
            key = info.alias or name
            if f"{key}:" not in text:
                missing.add(f"{model.__name__}.{key}")
    assert not missing
