"""``roost validate`` and ``roost schema``: roost.yaml without any state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from roost.cli._options import OutputOpt
from roost.cli._output import EXIT_INVALID, console, err_console, fail, print_problems, write_output


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
    console.print(
        f"{found}: ok — project {project.project!r}, "
        f"{len(project.environments)} environments, {len(project.services)} services",
        markup=False,
    )


def schema(
    output: OutputOpt = None,
) -> None:
    """Print the JSON Schema of roost.yaml (point your editor's YAML plugin at it)."""
    from roost.spec import project_json_schema

    text = json.dumps(project_json_schema(), indent=2) + "\n"
    write_output(text, output, hint="check the folder exists")
