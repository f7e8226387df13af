"""Router ports per environment: one listener per (environment, service), never shared."""

from __future__ import annotations

from typing import Any

import pytest

from roost.spec import Project, SpecError, parse_project


def _project(*services: dict[str, Any]) -> dict[str, Any]:
    return {
        "project": "shop",
        "version": 1,
        "environments": {"dev": {}, "staging": {"promote_from": "dev"}, "prod": {}},
        "services": list(services) or [{"name": "web", "command": "./web"}],
    }


def _problems(data: dict[str, Any]) -> list[str]:
    import yaml

    with pytest.raises(SpecError) as caught:
        parse_project(yaml.safe_dump(data, sort_keys=False), filename="roost.yaml")
    return [p.format() for p in caught.value.problems]


def test_one_port_belongs_to_the_first_environment_the_service_runs_in() -> None:
    project = Project.model_validate(_project({"name": "web", "command": "w", "listen": 8080}))
    web, order = project.service("web"), list(project.environments)
    assert [web.listen_in(env, order=order) for env in order] == [8080, None, None]
    late = Project.model_validate(
        _project({"name": "web", "command": "w", "listen": 9000, "environments": ["prod"]})
    )
    assert late.service("web").listen_in("prod", order=order) == 9000


def test_a_port_per_environment() -> None:
    listen = {"dev": 8080, "staging": 8081, "prod": "auto"}
    project = Project.model_validate(_project({"name": "web", "command": "w", "listen": listen}))
    web, order = project.service("web"), list(project.environments)
    assert [web.listen_in(env, order=order) for env in order] == [8080, 8081, None]


def test_auto_gives_every_environment_a_free_port() -> None:
    project = Project.model_validate(_project({"name": "web", "command": "w"}))
    order = list(project.environments)
    assert [project.service("web").listen_in(e, order=order) for e in order] == [None] * 3


def test_two_environments_sharing_a_port_is_a_located_error() -> None:
    data = _project({"name": "web", "command": "w", "listen": {"dev": 8080, "staging": 8080}})
    (problem,) = _problems(data)
    assert "services[0].listen.staging" in problem
    assert "already the router port at services[0].listen.dev" in problem
    assert "port 8080 is already the router port at" in problem
    assert "{dev: 8080, staging: 8081}" in problem


def test_two_services_sharing_a_port_is_an_error() -> None:
    data = _project(
        {"name": "web", "command": "w", "listen": 8080},
        {"name": "api", "command": "a", "listen": {"staging": 8080}},
    )
    (problem,) = _problems(data)
    assert "port 8080 is already the router port at" in problem


def test_listen_names_known_environments_the_service_runs_in() -> None:
    data = _project(
        {"name": "web", "command": "w", "listen": {"dve": 8080}},
        {"name": "api", "command": "a", "environments": ["prod"], "listen": {"dev": 8090}},
    )
    problems = _problems(data)
    assert any('unknown environment "dve"' in p and "did you mean" in p.lower() for p in problems)
    assert any('the service is not deployed to "dev"' in p for p in problems)


@pytest.mark.parametrize("listen", [0, 70000, "8080x", True, [8080], {"dev": "any"}])
def test_bad_listen_values(listen: object) -> None:
    problems = _problems(_project({"name": "web", "command": "w", "listen": listen}))
    assert len(problems) == 1
    assert "port" in problems[0]
