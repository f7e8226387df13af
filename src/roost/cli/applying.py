"""``roost diff`` and ``roost apply``: roost.yaml is the desired state, applied.

``diff`` compares the file on disk with the project the control plane applied last (kept in the
state store, so it survives restarts) and prints the plan; ``apply`` prints the plan and asks the
running control plane to apply the file: it re-reads and validates it completely, then switches
to it (the SLO watcher, deploys and ``slo status`` see the new project) and records who did it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roost.cli._api import act_as, api_url, call
from roost.cli._options import ApiOpt, DatabaseOpt, JsonOpt, ProjectOpt
from roost.cli._output import EXIT_FAILURE, console, err_console, user_errors
from roost.cli._people import AsOpt

if TYPE_CHECKING:
    from roost.spec import Project
    from roost.spec.planning import Plan


def _desired(project: Path | None) -> tuple[Path, Project]:
    from roost.control.workspace import find_project
    from roost.spec import load_project

    with user_errors():
        path = find_project(project)
        return path, load_project(path)


def _applied(root: Path, database_url: str | None) -> tuple[Project | None, str | None]:
    """The applied project and a note about it (who applied it when, or why there is none)."""
    from roost.spec import SpecError, parse_project
    from roost.store import ENV_VAR, open_store
    from roost.store.urls import DEFAULT_RELATIVE_PATH

    local = database_url is None and not os.environ.get(ENV_VAR)
    if local and not (root / DEFAULT_RELATIVE_PATH).exists():
        # No state store here: nothing was ever applied, and diff must not create one.
        return None, "nothing applied yet (no state store): `roost up` applies roost.yaml"
    with user_errors(), open_store(database_url, root=root) as store:
        record = store.applied.latest()
    if record is None:
        return None, "nothing applied yet: `roost up` or `roost apply` applies roost.yaml"
    when = record.applied_at.isoformat(timespec="seconds")
    try:
        applied = parse_project(record.text, filename="applied roost.yaml")
    except SpecError:
        # Applied by an older roost under rules this one no longer accepts: compare with
        # nothing rather than guess; applying the file on disk replaces it.
        return None, f"the project applied {when} by {record.applied_by} no longer validates"
    return applied, f"applied {when} by {record.applied_by} ({record.digest[:19]})"


def _print_plan(plan: Plan) -> None:
    for line in plan.lines():
        style = {"+": "green", "-": "red", "~": "yellow"}.get(line[:1])
        console.print(line, style=style, markup=False)
    console.print(plan.summary(), markup=False)


def diff(
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    as_json: JsonOpt = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when there is something to apply.")
    ] = False,
) -> None:
    """What `roost apply` would change: roost.yaml on disk against the project the control
    plane applied last (services, environments, SLOs, schedules, alert receivers, with the
    fields that change)."""
    from roost.spec.planning import plan as make_plan

    path, desired = _desired(project)
    applied, note = _applied(path.parent, database_url)
    plan = make_plan(applied, desired)
    if as_json:
        typer.echo(json.dumps({"applied": note, **plan.to_json()}, sort_keys=True))
    else:
        if note:
            err_console.print(note, markup=False)
        _print_plan(plan)
    if exit_code and not plan.empty:
        raise typer.Exit(EXIT_FAILURE)


def apply(
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply roost.yaml to the running control plane: it re-reads the file, validates all of
    it (an invalid file changes nothing), prints the plan and switches to it."""
    path, _ = _desired(project)  # every problem, located, before asking the server
    act_as(as_)
    base = api_url(api, path.parent)
    result: dict[str, Any] = call("POST", f"{base}/api/v1/apply", json={})
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True))
        return
    from roost.spec.planning import Change, FieldChange, Plan

    changes = tuple(
        Change(
            c["action"],
            c["noun"],
            c["name"],
            tuple(FieldChange(f["path"], f["before"], f["after"]) for f in c["fields"]),
        )
        for c in result["plan"]["changes"]
    )
    _print_plan(Plan(changes))
    if changes:
        console.print(f"applied {result['digest'][:19]} as {result['applied_by']}", markup=False)
