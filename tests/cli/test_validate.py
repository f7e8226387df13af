"""`roost validate` and `roost schema` through the real entry point."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from tests._roost import EXAMPLE, REPO, roost
from typer.testing import CliRunner

from roost.cli import app

BAD = sorted((REPO / "tests" / "spec" / "samples" / "bad").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.*)$")


def test_version() -> None:
    result = roost("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"roost \d+\.\d+\.\d+\n", result.stdout)


def test_the_example_validates() -> None:
    result = roost("validate", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
    assert "project 'shop'" in result.stdout


def test_a_folder_is_searched_for_roost_yaml(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "roost.yaml")
    result = roost("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("sample", BAD, ids=[p.stem for p in BAD])
def test_each_malformed_sample_prints_a_located_error_and_exits_2(sample: Path) -> None:
    first = sample.read_text(encoding="utf-8", errors="replace").splitlines()
    match = EXPECT.match(first[0]) if first else None
    # In-process (the entry point itself is exercised by the other tests): 31 interpreter
    # start-ups would dominate the suite's run time.
    result = CliRunner().invoke(app, ["validate", str(sample)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if match is None:  # samples whose first line cannot carry a comment (e.g. empty files)
        assert re.search(rf"^{re.escape(str(sample))}:\d+:\d+: ", result.stderr, re.M)
        return
    line, column, message = match.groups()
    prefix = f"{sample}:{line}:{column}: "
    located = [ln for ln in result.stderr.splitlines() if ln.startswith(prefix)]
    assert located, result.stderr
    assert message.split(" (")[0] in located[0]


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    text = text.replace("\n    replicas:", "\n    replcas:", 1).replace(
        "period: 5s", "period: 5x", 1
    )
    broken = tmp_path / "roost.yaml"
    broken.write_text(text)
    result = roost("validate", str(broken))
    assert result.returncode == 2
    problems = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{broken}:")]
    assert len(problems) >= 2, result.stderr
    assert any('did you mean "replicas"' in p for p in problems)
    assert any('"5x" is not a duration' in p for p in problems)


def test_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = roost("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no such file" in result.stderr


def test_folder_without_roost_yaml(tmp_path: Path) -> None:
    result = roost("validate", str(tmp_path))
    assert result.returncode == 2
    assert "no roost.yaml" in result.stderr


def test_schema_is_json_with_the_services_property(tmp_path: Path) -> None:
    result = roost("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "services" in schema["properties"]
    out = tmp_path / "schema.json"
    assert roost("schema", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text()) == schema


def test_schema_to_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    result = roost("schema", "-o", str(tmp_path / "missing" / "schema.json"))
    assert result.returncode == 1
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_problem_on_line_100_prints_its_line_number(tmp_path: Path) -> None:
    # Rich used to turn ":100:" into an emoji ("roost.yaml💯36:").
    padding = "".join(f"# line {n}\n" for n in range(2, 100))
    path = tmp_path / "roost.yaml"
    path.write_text(f"project: p\n{padding}version: 2\nenvironments: {{dev: {{}}}}\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:100:10: " in result.stderr, result.stderr
    assert "\N{HUNDRED POINTS SYMBOL}" not in result.stderr


def test_every_console_is_created_without_emoji_codes() -> None:
    sources = sorted((REPO / "src").rglob("*.py"))
    calls = [
        (path, line)
        for path in sources
        for line in path.read_text().splitlines()
        if re.search(r"\bConsole\(", line)
    ]
    assert calls, "the CLI prints through Rich consoles"
    for path, line in calls:
        assert "emoji=False" in line, f"{path.relative_to(REPO)}: {line.strip()}"


SHORT_WINDOW = """\
project: p
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 -m http.server $PORT
    slos:
      - name: availability
        objective: 99
        window: 1d
        sli: {kind: ratio}
"""


@pytest.mark.parametrize(
    "command",
    [["validate"], ["slo", "rules", "-p"], ["slo", "status", "-p"], ["up", "-p"]],
    ids=["validate", "slo-rules", "slo-status", "up"],
)
def test_what_slo_rules_would_refuse_validate_refuses_first(
    tmp_path: Path, command: list[str]
) -> None:
    # One set of checks: the window that `roost slo rules` could not write rules for is refused
    # by loading the project, with the same located line, by every command that reads it.
    path = tmp_path / "roost.yaml"
    path.write_text(SHORT_WINDOW)
    result = CliRunner().invoke(app, [*command, str(path)], env={"ROOST_API_URL": ""})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"{path}:11:17: ")
    assert "window 1d is shorter than the 3d long window of the default ticket alert" in (
        result.stderr
    )
    assert not (tmp_path / ".roost").exists()


KUBERNETES = """\
project: p
version: 1
environments:
  dev:
    runtime: {kind: kubernetes, namespace: p}
services:
  - name: web
    command: python3 -m http.server $PORT
"""


def test_up_refuses_a_runtime_that_is_not_available_and_starts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "roost.yaml"
    path.write_text(KUBERNETES)
    result = CliRunner().invoke(app, ["up", "-p", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:5:21: " in result.stderr
    assert "the kubernetes runtime is not available yet" in result.stderr
    assert not (tmp_path / ".roost").exists()
