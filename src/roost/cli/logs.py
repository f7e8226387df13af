"""``roost logs SERVICE`` and ``roost logs query "SQL"``: read the replicas' log files directly.

Neither needs a running agent or control plane: the JSON Lines files are the source of truth, so
logs stay readable after a crash — which is when they are wanted most.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from roost.cli._options import EnvOpt, ProjectOpt
from roost.cli._output import console, fail
from roost.cli._tables import Table
from roost.control.paths import STATE_DIR, resolve_root

AGENT_DIR = Path(STATE_DIR) / "agent"


def logs(
    service: Annotated[str, typer.Argument(help='Service name, or "query" followed by SQL.')],
    sql: Annotated[
        str | None, typer.Argument(help="With `query`: SQL over the table `logs`.")
    ] = None,
    project: ProjectOpt = None,
    environment: EnvOpt = None,
    revision: Annotated[str | None, typer.Option(help="Only this revision.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    since: Annotated[
        datetime | None, typer.Option(help="Only lines from this time on (ISO 8601, UTC).")
    ] = None,
) -> None:
    """Print what a service's replicas wrote, or run SQL over all log lines (DuckDB).

    Columns of `logs`: time, service, revision, replica, stream, line. Example:
    roost logs query "SELECT revision, count(*) FROM logs WHERE line LIKE '%ERROR%' GROUP BY 1"
    """
    from roost.agent.routes_file import log_dirs

    root = resolve_root(project)
    first = _first_environment(root)
    dirs = log_dirs(root / AGENT_DIR, default_environment=first)
    if service == "query" and sql is not None:
        # Every environment's logs (or one's): the rows do not say which, so narrow with --env.
        wanted = (
            list(dirs.values())
            if environment is None
            else [d for name, d in dirs.items() if name == environment]
        )
        _query(wanted, sql)
        return
    chosen = environment or first
    log_dir = dirs.get(chosen, root / AGENT_DIR / "environments" / chosen / "runtime" / "logs")
    if sql is not None:
        fail(
            f"unexpected argument {sql!r}",
            hint='use `roost logs query "SELECT ..."` for SQL',
            code=2,
        )
    from roost.clock import RealClock
    from roost.runtime.local.logs import read_logs

    if since is not None and since.tzinfo is None:
        from datetime import UTC

        since = since.replace(tzinfo=UTC)

    async def show() -> int:
        count = 0
        async for line in read_logs(
            log_dir, service, revision, since=since, follow=follow, clock=RealClock()
        ):
            count += 1
            stamp = line.time.isoformat(timespec="milliseconds")
            console.print(
                f"{stamp} {line.revision}#{line.replica} {line.stream}: {line.line}",
                markup=False,
                highlight=False,
            )
        return count

    try:
        if asyncio.run(show()) == 0 and not follow:
            console.print(f"no log lines for {service!r} in {chosen} ({log_dir})", markup=False)
    except KeyboardInterrupt:
        pass


def _first_environment(root: Path) -> str:
    """The project's first environment (the default of --env); "default" if unreadable."""
    from roost.spec import SpecError, find_project_file, load_project

    found = find_project_file(root)
    try:
        if found is not None:
            return next(iter(load_project(found).environments))
    except (SpecError, OSError):
        pass
    return "default"


def _query(log_dir: list[Path], sql: str) -> None:
    from roost.runtime.logquery import LogQueryError, query_logs

    try:
        result = query_logs(log_dir, sql)
    except LogQueryError as exc:
        fail(str(exc), hint=exc.hint, code=2)
    table = Table(*result.columns)
    for row in result.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    more = f" (cut at {len(result.rows)}: add LIMIT or aggregate)" if result.truncated else ""
    console.print(f"{len(result.rows)} row(s){more}", markup=False)
