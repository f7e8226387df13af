"""Commands that read the state store directly (no running API needed): events, db info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, LimitOpt, ProjectOpt, project_root
from roost.cli._output import console, user_errors
from roost.cli._tables import Table
from roost.control.paths import resolve_root

if TYPE_CHECKING:
    from roost.store import Store


db_app = typer.Typer(
    help="The state store: where it is and what schema it has.", no_args_is_help=True
)


def _open(project: Path | None, database_url: str | None) -> Store:
    from roost.store import open_store

    # The default store is SQLite under the project's .roost/: outside a project that would
    # silently create an empty one. A store named explicitly needs no project.
    root = resolve_root(project) if database_url else project_root(project)
    with user_errors():
        return open_store(database_url, root=root)


def events(
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    type_prefix: Annotated[
        str | None, typer.Option("--type", help="Only types starting with this.")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject.")] = None,
    limit: LimitOpt = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="CloudEvents JSON, one per line.")
    ] = False,
    output: FormatOpt = None,
) -> None:
    """The audit log: every event roost emitted, newest first."""
    fmt = chosen(output)
    with _open(project, database_url) as store, user_errors():
        found = store.events.list(type_prefix, subject=subject, limit=limit)
    from roost.secrets import withhold_in_cloudevent

    # Pinned secrets in old events lose their unkeyed digests on the way out (docs/secrets.md).
    shown = [withhold_in_cloudevent(event.to_cloudevent()) for event in found]
    if fmt is not None:
        from roost.cli._shapes import EventList

        emit(EventList(items=shown), fmt)
        return
    if as_json:
        for cloudevent in shown:
            typer.echo(json.dumps(cloudevent, sort_keys=True))
        return
    table = Table("time", "type", "subject", "actor", "data", title=f"events ({len(found)})")
    for event, cloudevent in zip(found, shown, strict=True):
        data = "" if event.data is None else json.dumps(cloudevent.get("data"), sort_keys=True)
        table.add_row(
            event.time.isoformat(timespec="seconds"),
            event.type,
            event.subject or "",
            event.actor or "",
            data if len(data) <= 80 else data[:77] + "...",
        )
    console.print(table)


@db_app.command("info")
def db_info(project: ProjectOpt = None, database_url: DatabaseOpt = None) -> None:
    """Which state store roost uses, its dialect and schema revision (migrating it if needed)."""
    with _open(project, database_url) as store, user_errors():
        store.ping()
        console.print(f"url:             {store.url}", markup=False)
        console.print(f"dialect:         {store.dialect}", markup=False)
        console.print(f"schema revision: {store.schema_revision}", markup=False)
        console.print(f"events:          {store.events.count()}", markup=False)
