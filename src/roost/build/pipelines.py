"""Finding a service's pipeline: in the working copy's roost.yaml, or in a commit's."""

from __future__ import annotations

from pathlib import Path

from roost.build.errors import BuildError
from roost.build.sources import Commit
from roost.spec import Project, Service, SpecError, find_project_file, load_project
from roost.spec.building import Build


def pipeline_of(project: Project, service_name: str) -> tuple[Service, Build]:
    """The service and its build section; :class:`BuildError` if either is missing."""
    try:
        service = project.service(service_name)
    except KeyError:
        names = [s.name for s in project.services]
        raise BuildError(
            f"there is no service {service_name!r} in project {project.project}",
            hint="services are: " + ", ".join(names) if names else "add one to roost.yaml",
        ) from None
    if service.build is None:
        raise BuildError(
            f"service {service_name} has no build pipeline",
            hint="add a `build:` section to it in roost.yaml (see examples/shop/roost.yaml)",
        )
    return service, service.build


def project_at(project_dir: Path, commit: Commit, *, fallback: Project) -> Project:
    """The project as the commit has it (its roost.yaml), or ``fallback`` if it has none."""
    found = find_project_file(project_dir)
    if found is None:
        return fallback
    try:
        return load_project(found)
    except SpecError as exc:
        first = exc.problems[0]
        raise BuildError(
            f"roost.yaml at commit {commit.short_sha} is invalid: line {first.line}: "
            f"{first.message}",
            hint="fix it and commit again (`roost validate` checks the working copy)",
        ) from None
