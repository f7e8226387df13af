"""Each file in samples/bad/ is a broken roost.yaml whose first line says where and what the
problem is: ``# expect: LINE:COLUMN: text that the problem contains``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roost.spec import SpecError, load_project

SAMPLES = Path(__file__).parent / "samples" / "bad"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+)")


def _expectation(path: Path) -> tuple[int, int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT.fullmatch(first)
    assert match, f"{path.name}: first line must be '# expect: LINE:COLUMN: message'"
    return int(match.group(1)), int(match.group(2)), match.group(3)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_sample_reports_one_located_problem(path: Path) -> None:
    line, column, text = _expectation(path)
    with pytest.raises(SpecError) as caught:
        load_project(path)
    problems = caught.value.problems
    assert len(problems) == 1, str(caught.value)
    problem = problems[0]
    assert (problem.file, problem.line, problem.column) == (str(path), line, column), problem
    assert text in problem.format(), problem.format()
    assert str(caught.value) == problem.format()


def test_the_samples_cover_the_required_cases() -> None:
    names = {path.stem for path in SAMPLES.glob("*.yaml")}
    required = {
        "malformed_yaml",
        "wrong_type_port",
        "unknown_key",
        "bad_duration",
        "duplicate_service_name",
        "step_weight_over_100",
        "duplicate_yaml_key",
        "empty",
        "top_level_list",
        "unknown_environment",
        "promotion_cycle",
        "invalid_timezone",
        "bad_schema_range",
        "probe_two_handlers",
    }
    assert required <= names


def test_no_message_leaks_pydantic_wording() -> None:
    for path in SAMPLES.glob("*.yaml"):
        with pytest.raises(SpecError) as caught:
            load_project(path)
        text = str(caught.value)
        assert "errors.pydantic.dev" not in text
        assert "Input should be" not in text
        assert "[key]" not in text
