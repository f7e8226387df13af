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
