"""``roost status``: ask a running ``roost serve`` for the one-screen summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roost.cli._api import api_url, call
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import ApiOpt, JsonOpt
from roost.cli._output import console
from roost.cli._tables import Table


def status(
    api: ApiOpt = None,
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="Project folder, to find its running API."),
    ] = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """Show the project, its state store and each service's latest release and rollouts."""
    fmt = chosen(output, as_json)
    base = api_url(api, project)
    data = call("GET", f"{base}/api/v1/status")
    if fmt is not None:
        from roost.cli._shapes import Status

        emit(Status.model_validate(data), fmt)
        return
    db = data.get("database", {})
    console.print(f"[bold]{data.get('project')}[/] — roost {data.get('version')} at {base}")
    console.print(
        f"state: {db.get('url')} ({db.get('dialect')}, schema {db.get('schema_revision')})",
        markup=False,
    )
    console.print(f"environments: {', '.join(data.get('environments', [])) or '—'}", markup=False)
    table = Table("service", "latest release", "active rollouts", title="services")
    for svc in data.get("services", []):
        table.add_row(svc["name"], svc.get("latest_release") or "—", str(svc["active_rollouts"]))
    console.print(table)
    console.print(f"leases: {data.get('leases')}   events: {data.get('events')}", markup=False)
