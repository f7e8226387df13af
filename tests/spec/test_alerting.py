"""The project's ``alerting:``: defaults, receivers, and errors located in the file (the bad
samples in samples/bad/alerting_*.yaml cover one problem each)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from roost.spec import Alerting, Project, Receiver, SpecError, load_project, parse_project

HEAD = "project: shop\nversion: 1\nenvironments:\n  dev: {}\n"


def test_without_alerting_there_are_no_receivers_and_alertmanager_defaults() -> None:
    project = parse_project(HEAD, filename="roost.yaml")
    alerting = project.alerting
    assert alerting.receivers == []
    assert alerting.group_by == ["alertname", "roost_service"]
    assert alerting.group_wait == timedelta(seconds=30)
    assert alerting.group_interval == timedelta(minutes=5)
    assert alerting.repeat_interval == timedelta(hours=4)
    assert alerting.send_resolved is True


def test_receivers_of_both_kinds_with_a_match() -> None:
    project = parse_project(
        HEAD + "alerting:\n"
        "  receivers:\n"
        "    - {name: pager, webhook: 'https://hooks.example.com/roost', match: {severity: page}}\n"
        "    - {name: central, alertmanager: 'http://127.0.0.1:9093'}\n"
        "  group_by: []\n"
        "  group_wait: 0s\n"
        "  send_resolved: false\n",
        filename="roost.yaml",
    )
    pager, central = project.alerting.receivers
    assert (pager.webhook, pager.alertmanager, pager.url) == (
        "https://hooks.example.com/roost",
        None,
        "https://hooks.example.com/roost",
    )
    assert pager.match == {"severity": "page"}
    assert central.url == "http://127.0.0.1:9093"
    assert central.match == {}
    assert project.alerting.group_by == []
    assert project.alerting.group_wait == timedelta(0)
    assert not project.alerting.send_resolved
    assert Project.model_validate_json(project.model_dump_json(by_alias=True)) == project


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "is not an http or https URL"),
        ("example.com/hook", "is not an http or https URL"),
        ("https:///hook", "has no host"),
        ("http://127.0.0.1:99999/x", "is not a valid URL"),
    ],
)
def test_receiver_urls_must_be_http_with_a_host(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Receiver(name="hook", webhook=url)


def test_models_built_in_python_check_the_same_rules() -> None:
    with pytest.raises(ValidationError, match="needs a webhook or an alertmanager URL"):
        Receiver(name="hook")
    with pytest.raises(ValidationError, match="used twice"):
        Alerting(
            receivers=[
                Receiver(name="a", webhook="http://x/1"),
                Receiver(name="a", webhook="http://x/2"),
            ]
        )
    with pytest.raises(ValidationError, match="not a label"):
        Alerting(group_by=["service"])


def test_several_problems_are_each_located(tmp_path: Path) -> None:
    path = tmp_path / "roost.yaml"
    path.write_text(
        HEAD + "alerting:\n"
        "  receivers:\n"
        "    - name: a\n"
        "      webhook: mailto:x@example.com\n"  # line 8
        "    - name: b\n"
        "      alertmanager: http://127.0.0.1:9093\n"
        "      match: {sevrity: page}\n"  # line 11
        "  group_by: [alertname, servce]\n"  # line 12
    )
    with pytest.raises(SpecError) as caught:
        load_project(path)
    found = {(p.line, p.message.split(": ", 1)[0]) for p in caught.value.problems}
    assert found == {
        (8, "alerting.receivers[0].webhook"),
        (11, "alerting.receivers[1].match.sevrity"),
        (12, "alerting.group_by[1]"),
    }
    hints = [p.hint for p in caught.value.problems]
    assert 'did you mean "severity"?' in hints
    assert 'did you mean "roost_service"?' in hints
