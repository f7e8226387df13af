"""The ``build:`` section of a service in roost.yaml: defaults, and located errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from roost.spec import SpecError, load_project, parse_project

HEAD = """project: p
version: 1
environments: {dev: {}}
services:
  - name: web
    command: python3 app.py
    build:
"""
EXAMPLE = Path(__file__).parents[2] / "examples" / "shop" / "roost.yaml"


def _problem(build: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_project(HEAD + build, filename="roost.yaml")
    problems = caught.value.problems
    assert len(problems) == 1, str(caught.value)
    return problems[0].format()


def test_defaults_and_the_sequential_rule() -> None:
    project = parse_project(
        HEAD
        + """      steps:
        - {name: a, run: echo a}
        - {name: b, run: [echo, b]}
        - {name: c, run: echo c, needs: []}
        - {name: d, run: echo d, needs: [b, c], timeout: 90s}
""",
        filename="roost.yaml",
    )
    build = project.service("web").build
    assert build is not None
    assert build.dependencies() == {"a": (), "b": ("a",), "c": (), "d": ("b", "c")}
    assert build.timeout == timedelta(hours=1)
    assert build.trigger is None
    assert build.artifact.include == ["**"]
    assert not build.on_success.release
    assert build.steps[3].timeout == timedelta(seconds=90)
    assert build.steps[1].run == ["echo", "b"]


def test_the_example_documents_a_pipeline() -> None:
    web = load_project(EXAMPLE).service("web")
    assert web.build is not None
    assert web.build.dependencies()["stamp"] == ("wheels", "test", "lint")
    assert web.build.steps[0].cache is not None
    assert web.build.on_success.deploy_to == "dev"


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            "      steps:\n"
            "        - {name: a, run: x, needs: [c]}\n"
            "        - {name: b, run: x}\n"
            "        - {name: c, run: x}\n",
            "roost.yaml:9:37: services[0].build.steps[0].needs[0]: steps need each other in a "
            "loop: a → c → b → a",
        ),
        (
            "      steps:\n        - {name: a, run: x}\n"
            "        - {name: b, run: x, needs: [tset]}\n",
            'roost.yaml:10:37: services[0].build.steps[1].needs[0]: unknown step "tset"',
        ),
        (
            "      steps:\n        - {name: a, run: x, needs: [a]}\n",
            "roost.yaml:9:37: services[0].build.steps[0].needs[0]: a step cannot need itself",
        ),
        (
            "      steps:\n        - {name: a, run: x}\n        - {name: a, run: y}\n",
            'roost.yaml:10:18: services[0].build.steps[1].name: duplicate step name "a" '
            "(first defined on line 9)",
        ),
        (
            "      steps:\n        - {name: a, run: '  '}\n",
            "roost.yaml:9:26: services[0].build.steps[0].run: the command is empty",
        ),
        (
            "      steps:\n        - {name: a, run: x, dir: ../elsewhere}\n",
            'roost.yaml:9:34: services[0].build.steps[0].dir: "../elsewhere" must be a path '
            "inside the project",
        ),
        (
            "      substitutions: {BRANCH: x}\n",
            "roost.yaml:8:23: services[0].build.substitutions.BRANCH: BRANCH is set by roost "
            "and cannot be redefined",
        ),
        (
            "      on_success: {deploy_to: dev}\n",
            "roost.yaml:8:31: services[0].build.on_success.deploy_to: deploy_to needs a release "
            "to deploy (set `release: true`)",
        ),
        (
            "      steps:\n        - {name: a, run: x, cache: {key_files: [], paths: [out]}}\n",
            "services[0].build.steps[0].cache.key_files: must have at least 1 entry",
        ),
        (
            "      stpes: []\n",
            'roost.yaml:8:7: unknown field "stpes" in service "web", at build',
        ),
    ],
    ids=[
        "cycle",
        "unknown-need",
        "self-need",
        "duplicate",
        "empty-run",
        "dir-escapes",
        "builtin-substitution",
        "deploy-without-release",
        "empty-key-files",
        "typo",
    ],
)
def test_located_errors(build: str, expected: str) -> None:
    assert expected in _problem(build)


def test_an_implicit_dependency_loop_is_reported_at_the_step_name() -> None:
    # b waits for a (written before it); a needs b: the loop goes through an implicit need.
    problem = _problem(
        "      steps:\n        - {name: a, run: x, needs: [b]}\n        - {name: b, run: x}\n"
    )
    assert problem.startswith("roost.yaml:9:37: services[0].build.steps[0].needs[0]: ")
    assert "a → b → a" in problem
    assert "waits for the one written before it" in problem
