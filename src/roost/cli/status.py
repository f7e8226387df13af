"""``roost status``: ask a running ``roost serve`` for the one-screen summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from roost.cli._output import console, fail
from roost.control.paths import DEFAULT_API_PORT, STATE_DIR, read_api_file, resolve_root


def _api_url(api: str | None, project: Path | None) -> str:
    if api:
        return api.rstrip("/")
    if env := os.environ.get("ROOST_API_URL"):
        return env.rstrip("/")
    recorded = read_api_file(resolve_root(project) / STATE_DIR)
    if recorded and isinstance(recorded.get("url"), str):
        return str(recorded["url"]).rstrip("/")
    return f"http://127.0.0.1:{DEFAULT_API_PORT}"


def _get(url: str) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.get(url, timeout=10.0)
    except httpx.InvalidURL as exc:
        fail(f"bad API URL {url!r}: {exc}", hint="e.g. --api http://127.0.0.1:7070", code=2)
    except httpx.UnsupportedProtocol:
        fail(f"bad API URL {url!r}", hint="it must start with http:// or https://", code=2)
    except httpx.TransportError as exc:
        fail(
            f"cannot reach the roost API at {url} ({type(exc).__name__})",
            hint="is `roost serve` running? pass --api URL or set ROOST_API_URL",
        )
    if response.status_code != 200:
        fail(f"the roost API at {url} answered {response.status_code}: {response.text[:200]}")
    try:
        data = response.json()
    except ValueError:
        fail(f"{url} did not answer JSON", hint="is that a roost API?")
    if not isinstance(data, dict):
        fail(f"{url} answered an unexpected document", hint="is that a roost API?")
    return data


def status(
    api: Annotated[
        str | None,
        typer.Option(help="API URL (default: ROOST_API_URL, then the running `roost serve`)."),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="Project folder, to find its running API."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
) -> None:
    """Show the project, its state store and each service's latest release and rollouts."""
    base = _api_url(api, project)
    data = _get(f"{base}/api/v1/status")
    if as_json:
        console.print_json(data=data)
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
