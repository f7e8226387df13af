"""The plan of `roost diff` / `roost apply`: pure, from two projects."""

from __future__ import annotations

from roost.spec import parse_project
from roost.spec.planning import Change, FieldChange, plan

BASE = """\
project: shop
version: 1
environments:
  dev: {}
  production:
    approval: {required: false}
    freeze_windows:
      - {name: weekend, cron: "0 16 * * FRI", duration: 64h}
services:
  - name: web
    command: python3 app.py
    replicas: 1
    slos:
      - {name: availability, objective: 99.9, sli: {kind: ratio}}
alerting:
  receivers:
    - {name: ops, webhook: "http://127.0.0.1:9/hook"}
"""


def _project(text: str):  # type: ignore[no-untyped-def]
    return parse_project(text, filename="roost.yaml")


def test_the_same_file_is_nothing_to_do() -> None:
    result = plan(_project(BASE), _project(BASE))
    assert result.empty
    assert result.summary() == "nothing to do"
    assert result.lines() == []


def test_nothing_applied_yet_adds_everything() -> None:
    result = plan(None, _project(BASE))
    assert [(c.action, c.noun, c.name) for c in result.changes] == [
        ("add", "project", "shop"),
        ("add", "environment", "dev"),
        ("add", "environment", "production"),
        ("add", "service", "web"),
        ("add", "slo", "web/availability"),
        ("add", "schedule", "production/weekend"),
        ("add", "receiver", "ops"),
    ]


def test_added_changed_and_removed_with_field_level_changes() -> None:
    desired = (
        BASE.replace("replicas: 1", "replicas: 3")
        .replace("approval: {required: false}", "approval: {required: true}")
        .replace(
            "      - {name: availability, objective: 99.9, sli: {kind: ratio}}\n",
            "      - {name: availability, objective: 99.5, sli: {kind: ratio}}\n"
            "      - {name: fast, objective: 99, sli: {kind: latency, threshold: 300ms}}\n",
        )
        .replace("  dev: {}\n", "")
        .replace('cron: "0 16 * * FRI"', 'cron: "0 17 * * FRI"')
        .replace("    - {name: ops, webhook:", "    - {name: oncall, webhook:")
    )
    result = plan(_project(BASE), _project(desired))
    assert result.changes == (
        Change(
            "change",
            "environment",
            "production",
            (FieldChange("approval.required", False, True),),
        ),
        Change("remove", "environment", "dev"),
        Change("change", "service", "web", (FieldChange("replicas", 1, 3),)),
        Change("change", "slo", "web/availability", (FieldChange("objective", 99.9, 99.5),)),
        Change("add", "slo", "web/fast"),
        Change(
            "change",
            "schedule",
            "production/weekend",
            (FieldChange("cron", "0 16 * * FRI", "0 17 * * FRI"),),
        ),
        Change("add", "receiver", "oncall"),
        Change("remove", "receiver", "ops"),
    )
    assert result.summary() == "2 to add, 4 to change, 2 to remove"
    assert result.lines()[:4] == [
        "~ environment production",
        "    approval.required: false → true",
        "- environment dev",
        "~ service web",
    ]


def test_a_changed_slo_is_not_also_a_change_of_its_service() -> None:
    desired = BASE.replace("objective: 99.9", "objective: 99.95")
    result = plan(_project(BASE), _project(desired))
    assert [(c.noun, c.name) for c in result.changes] == [("slo", "web/availability")]


def test_project_wide_settings_are_a_change_of_the_project() -> None:
    desired = BASE.replace("alerting:\n", "alerting:\n  group_wait: 10s\n")
    result = plan(_project(BASE), _project(desired))
    assert result.changes == (
        Change("change", "project", "shop", (FieldChange("alerting.group_wait", "30s", "10s"),)),
    )


def test_json_form_names_every_change() -> None:
    desired = BASE.replace("replicas: 1", "replicas: 2")
    data = plan(_project(BASE), _project(desired)).to_json()
    assert data["summary"] == "0 to add, 1 to change, 0 to remove"
    assert data["changes"] == [
        {
            "action": "change",
            "noun": "service",
            "name": "web",
            "fields": [{"path": "replicas", "before": 1, "after": 2}],
        }
    ]
