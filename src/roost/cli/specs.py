"""``roost validate`` and ``roost schema``: roost.yaml without any state."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli._options import OutputOpt
from roost.cli._output import EXIT_INVALID, console, err_console, fail, print_problems, write_output

if TYPE_CHECKING:
    from roost.spec import Problem, Project


def validate(
    path: Annotated[
        Path | None,
        typer.Argument(help="roost.yaml, or a folder holding one (default: the current folder)."),
    ] = None,
) -> None:
    """Check a roost.yaml: every problem as file:line:column: message (hint); exit 2 if any."""
    from roost.spec import SpecError, find_project_file, load_project

    start = path if path is not None else Path.cwd()
    if not start.exists():
        fail(f"{start}: no such file or folder", hint="pass the path of a roost.yaml", code=2)
    found = find_project_file(start)
    if found is None:
        fail(f"no roost.yaml in {start}", hint="pass the path of a roost.yaml", code=2)
    try:
        project = load_project(found)
    except SpecError as exc:
        print_problems(exc)
        n = len(exc.problems)
        err_console.print(f"{found}: {n} problem{'s' if n != 1 else ''}", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    from roost.cli.schedules import lint_warnings

    for line in lint_warnings(project):
        err_console.print(f"{found}: warning: {line}", markup=False)
    if problems := _stored_secret_problems(found, project):
        print_problems(SpecError(problems))
        n = len(problems)
        err_console.print(f"{found}: {n} problem{'s' if n != 1 else ''}", markup=False)
        raise typer.Exit(EXIT_INVALID)
    console.print(
        f"{found}: ok — project {project.project!r}, "
        f"{len(project.environments)} environments, {len(project.services)} services",
        markup=False,
    )


def _stored_secret_problems(found: Path, project: Project) -> list[Problem]:
    """``roost:NAME`` sources that name no stored secret — checked when the project's state
    store is there to ask (SQLite under .roost/, or $ROOST_DATABASE_URL); otherwise the
    deploy that cuts the release refuses them."""
    from roost.control.paths import STATE_DIR
    from roost.spec.loading import stored_secret_problems
    from roost.spec.services import parse_stored_reference
    from roost.store import StoreError, open_store

    refs = {r.source for s in project.services for r in s.secrets if r.source.startswith("roost:")}
    url = os.environ.get("ROOST_DATABASE_URL")
    if not refs or (not url and not (found.parent / STATE_DIR / "state.db").exists()):
        return []
    try:
        with open_store(url, root=found.parent) as store:
            missing = set()
            for ref in refs:
                name, version = parse_stored_reference(ref)
                versions = {r.version for r in store.secrets.versions(name)}
                if not versions or (version is not None and version not in versions):
                    missing.add(ref)
    except StoreError:
        return []  # unreachable now: the deploy checks again
    return stored_secret_problems(found, project, missing)


def schema(
    output: OutputOpt = None,
) -> None:
    """Print the JSON Schema of roost.yaml (point your editor's YAML plugin at it)."""
    from roost.spec import project_json_schema

    text = json.dumps(project_json_schema(), indent=2) + "\n"
    write_output(text, output, hint="check the folder exists")
