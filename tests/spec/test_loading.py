"""Loading: located problems, all of them at once, and nothing but SpecError for any text."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest

from roost.spec import Problem, SpecError, find_project_file, load_project, parse_project

VALID = """\
project: shop
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 -m http.server
"""


def _problems(text: str) -> list[Problem]:
    with pytest.raises(SpecError) as caught:
        parse_project(text, filename="roost.yaml")
    return caught.value.problems


def test_problem_format() -> None:
    assert Problem("a.yaml", 7, 14, "boom", "try this").format() == "a.yaml:7:14: boom (try this)"
    assert Problem("a.yaml", 7, 14, "boom", None).format() == "a.yaml:7:14: boom"


def test_spec_error_sorts_problems_and_formats_one_per_line() -> None:
    late, early = Problem("f", 9, 1, "late", None), Problem("f", 2, 5, "early", "h")
    error = SpecError([late, early])
    assert error.problems == [early, late]
    assert str(error) == "f:2:5: early (h)\nf:9:1: late"


def test_spec_error_pickles() -> None:
    error = SpecError([Problem("f", 1, 2, "m", None)])
    assert pickle.loads(pickle.dumps(error)).problems == error.problems


def test_a_valid_project_parses() -> None:
    project = parse_project(VALID, filename="roost.yaml")
    assert project.services[0].command == ["python3", "-m", "http.server"]
    assert project.services[0].port == "auto"


def test_all_problems_are_reported_in_one_pass_in_file_order() -> None:
    text = """\
project: shop
version: 1
environments:
  dev: {}
  prod:
    promote_from: staging
services:
  - name: web
    command: python3 -m http.server
    port: eighty
    replcas: 2
  - name: web
    command: ./web
    rollout:
      strategy: canary
      steps:
        - set_weight: 101
"""
    found = [(p.line, p.column, p.message) for p in _problems(text)]
    assert [(line, column) for line, column, _ in found] == [
        (6, 19),
        (10, 11),
        (11, 5),
        (12, 11),
        (17, 23),
    ]
    assert "unknown environment" in found[0][2]
    assert "duplicate service name" in found[3][2]


def test_cross_checks_run_even_when_the_rest_is_invalid() -> None:
    text = VALID + "  - name: web\n    command: 5\n"
    messages = [p.message for p in _problems(text)]
    assert any("duplicate service name" in m for m in messages)
    assert any("expected a command" in m for m in messages)


def test_wrong_type_names_the_path_and_the_value() -> None:
    (problem,) = _problems(VALID + "    replicas: lots\n")
    assert problem.message.startswith("services[0].replicas: expected a replica count")
    assert '"lots"' in problem.message


def test_unknown_field_far_from_everything_lists_allowed_fields() -> None:
    (problem,) = _problems(VALID + "    qqqqqqq: 1\n")
    assert problem.hint is not None
    assert problem.hint.startswith("allowed fields are: name,")


def test_unknown_field_in_a_step_analysis_suggests_the_right_one() -> None:
    text = VALID + (
        "    analysis: {checks: [{metric: error_ratio, max: 0.1}]}\n"
        "    rollout:\n      strategy: canary\n      steps:\n        - analysis: {duraton: 5m}\n"
    )
    (problem,) = _problems(text)
    assert (
        problem.message == 'unknown field "duraton" in service "web", at rollout.steps[0].analysis'
    )
    assert problem.hint == 'did you mean "duration"?'
    assert (problem.line, problem.column) == (12, 22)


def test_missing_field_is_at_the_parent_mapping() -> None:
    (problem,) = _problems("project: shop\nversion: 1\n")
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == 'missing required field "environments" at the top level'


def test_empty_value_is_reported_at_its_key() -> None:
    (problem,) = _problems(VALID.replace("command: python3 -m http.server", "command:"))
    assert (problem.line, problem.column) == (7, 5)
    assert "got null" in problem.message


def test_missing_runtime_kind() -> None:
    (problem,) = _problems(VALID.replace("dev: {}", "dev: {runtime: {namespace: x}}"))
    assert problem.message == 'missing required field "kind" in environment "dev", at runtime'


def test_yaml_anchors_and_merge_keys_work() -> None:
    text = """\
project: shop
version: 1
environments:
  staging: &env
    approval: {required: true}
    error_budget_gate: true
  production:
    <<: *env
    error_budget_gate: false
services: []
"""
    project = parse_project(text, filename="roost.yaml")
    production = project.environments["production"]
    assert production.approval.required
    assert not production.error_budget_gate


def test_problems_in_merged_values_point_at_the_anchor() -> None:
    text = """\
project: shop
version: 1
environments:
  staging: &env
    soak_time: 5x
  production:
    <<: *env
"""
    problems = _problems(text)
    assert {(p.line, p.column) for p in problems} == {(5, 16)}


def test_yaml_keys_that_look_like_booleans_stay_names() -> None:
    (problem,) = _problems(VALID + "    on: 1\n")
    assert problem.message.startswith('unknown field "on"')


def test_file_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(SpecError) as caught:
        load_project(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == (str(path), 0, 0)
    assert problem.message.startswith("cannot read the file")
    assert problem.hint == "check the path"


def test_a_directory_is_not_a_project_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the file"):
        load_project(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "roost.yaml"
    path.write_bytes(b"project: shop\nversion: \xff\n")
    with pytest.raises(SpecError) as caught:
        load_project(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 10)
    assert "not UTF-8" in problem.message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "roost.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_project(path).project == "shop"


def test_find_project_file(tmp_path: Path) -> None:
    assert find_project_file(tmp_path) is None
    assert find_project_file(tmp_path / "nope.yaml") is None
    yml = tmp_path / "roost.yml"
    yml.write_text(VALID)
    assert find_project_file(tmp_path) == yml
    yaml_file = tmp_path / "roost.yaml"
    yaml_file.write_text(VALID)
    assert find_project_file(tmp_path) == yaml_file
    other = tmp_path / "other.yaml"
    other.write_text(VALID)
    assert find_project_file(other) == other


TRICKY = [
    "",
    "\n\n",
    "# only a comment",
    "---",
    "--- null",
    "~",
    "42",
    "'just a string'",
    "- a\n- b",
    "[1, 2",
    "{",
    "}",
    "project: [",
    "services: 5",
    "environments: 5",
    "environments: []",
    "environments: {dev: 5}",
    "environments: {dev: {runtime: 5}}",
    "environments: {dev: {runtime: {kind: 5}}}",
    "environments: {dev: {freeze_windows: [{timezone: 5}]}}",
    "environments: {dev: {freeze_windows: [{timezone: ../../etc/passwd}]}}",
    "environments: {dev: {freeze_windows: [{start: nope, end: 5}]}}",
    "environments: {5: {promote_from: 5}}",
    "environments: {a: {promote_from: b}, b: {promote_from: a}}",
    "services: [5, null, [], {}]",
    "services: [{name: 5, command: {}, replicas: {5: x}, probes: 5, rollout: []}]",
    "services: [{rollout: {strategy: canary, steps: [5, [], {}, {pause: []}, {analysis: 5}]}}]",
    "services: [{rollout: {strategy: [1]}}]",
    "services: [{probes: {liveness: {exec: null}, startup: {http: 5}}}]",
    "services: [{analysis: {checks: [{metric: latency_p95, max: [1]}, 5]}}]",
    "services: [{slos: [{sli: {kind: 5}}, {sli: {}}, {objective: abc}]}]",
    "services: [{schema: {requires: 5.5}}, {schema: {requires: '>='}}]",
    "services: [{config_files: [{path: /etc/passwd}, {path: 5}]}]",
    "services: [{env: {1: 2, A: null, B: yes}, secrets: [{name: 1, from: 2}]}]",
    "a: &a [*a]",
    "a: &a {b: *a}",
    "<<: 5",
    "<<: [5]",
    "? [a, b]\n: c",
    "? {a: b}\n: c",
    "project: !!python/object:os.system x",
    "project: !!binary AAAA",
    "project: !!timestamp nope",
    "project: !!int 0xZZ",
    "project: !!float abc",
    "project: !custom x",
    "version: !!set {a, b}",
    "version: !!omap [a: 1]",
    "version: " + "9" * 5000,
    "version: 1e999",
    "version: .nan",
    "version: true",
    "%YAML 1.1\n---\na: b",
    "%FOO\n--- a",
    "--- a\n--- b",
    "a: b\n\tc: d",
    "key: 'unterminated",
    'key: "bad \\q escape"',
    "\x00",
    "\x07bell",
    "\ufeffproject: shop",
    "\ud800",
    "\U0001f600: \U0001f600",
    "[" * 5000,
    "{a: " * 3000,
    "- " * 3000,
    "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 400)),
    "&x " + "[*x, " * 3,
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}] \n" for i in range(9))
    + "services: *j",
]


def _random_texts() -> list[str]:
    alphabet = "ab:- \n\t[]{},&*!|>'\"#%@`?~0123456789\\\x00\x85\u2028é"
    rng = random.Random(20240601)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(300)]


def _mutations() -> list[str]:
    rng = random.Random(7)
    texts = []
    for _ in range(200):
        chars = list(VALID)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(chars))
            chars[position] = rng.choice(":-[]{}\n #&*!'\"0a")
        texts.append("".join(chars))
    return texts


@pytest.mark.parametrize("text", TRICKY + _random_texts() + _mutations())
def test_any_text_gives_a_project_or_a_spec_error(text: str) -> None:
    problems: list[Problem] = []
    try:
        parse_project(text, filename="junk.yaml")
    except SpecError as error:
        problems = error.problems
        assert problems
    for problem in problems:
        assert problem.file == "junk.yaml"
        assert problem.line >= 1
        assert problem.column >= 1
        assert "roost could not check this file" not in problem.message, problem
        assert "errors.pydantic.dev" not in problem.format()


def test_binary_junk_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "roost.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SpecError):
        load_project(path)
