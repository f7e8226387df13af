"""``roost audit``: check the event log's hash chain, show its head.

Reads the state store directly (no running ``roost serve`` needed), so the check also works on a
copy of the database or after a crash. ``verify`` exits 1 and names the first event that was
edited, deleted or reordered; 0 when the chain is intact.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from roost.cli._options import DatabaseOpt, JsonOpt, ProjectOpt
from roost.cli._output import EXIT_FAILURE, EXIT_INVALID, console, fail, user_errors
from roost.control.paths import resolve_root

audit_app = typer.Typer(
    help="The audit log: check its hash chain, show its head.", no_args_is_help=True
)

_HASH = re.compile(r"^[0-9a-f]{64}$")


@audit_app.command("verify")
def verify(
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    expect: Annotated[
        str | None,
        typer.Option(
            help="A head recorded earlier (roost audit head): it must still be in the chain."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every event's hash and link; name the first edited, deleted or reordered one."""
    if expect is not None and not _HASH.match(expect):
        fail(
            f"--expect {expect!r} is not a chain hash",
            hint="64 lowercase hex digits, as `roost audit head` prints",
            code=EXIT_INVALID,
        )
    from roost.store import open_store

    with user_errors(), open_store(database_url, root=resolve_root(project)) as store:
        report = store.events.verify(expect=expect)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "intact": report.intact,
                    "events": report.events,
                    "head": report.head,
                    "problem": report.problem,
                    "seq": report.seq,
                    "event_id": report.event_id,
                    "anchored": report.anchored,
                },
                indent=2,
            )
        )
    elif report.intact:
        anchored = " (the recorded head is in it)" if report.anchored else ""
        console.print(
            f"audit chain intact: {report.events} event(s), head {report.head}{anchored}",
            markup=False,
        )
    else:
        console.print(f"audit chain BROKEN: {report.problem}", markup=False)
    if not report.intact:
        raise typer.Exit(EXIT_FAILURE)


@audit_app.command("head")
def head(project: ProjectOpt = None, database_url: DatabaseOpt = None) -> None:
    """Print the chain's head hash: record it elsewhere to anchor the log."""
    from roost.store import open_store

    with user_errors(), open_store(database_url, root=resolve_root(project)) as store:
        latest, count = store.events.head()
    typer.echo(f"{latest} {count}")
