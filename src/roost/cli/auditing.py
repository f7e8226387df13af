"""``roost audit``: check the event log's hash chain, show its head.

Reads the state store directly (no running ``roost serve`` needed), so the check also works on a
copy of the database or after a crash. ``verify`` exits 1 and names the first event that was
edited, deleted or reordered; 0 when the chain is intact.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, JsonOpt, ProjectOpt
from roost.cli._output import EXIT_FAILURE, EXIT_INVALID, console, fail, user_errors
from roost.cli._people import AsOpt, who
from roost.control.paths import STATE_DIR, resolve_root

audit_app = typer.Typer(
    help="The audit log: check its hash chain, show its head.", no_args_is_help=True
)

_HASH = re.compile(r"^[0-9a-f]{64}$")
KEY_ENV = "ROOST_AUDIT_KEY_FILE"
KEY_FILE = Path(STATE_DIR) / "audit.key"

KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        envvar=KEY_ENV,
        help="The checkpoint key (default: .roost/audit.key, created 0600 on first checkpoint).",
        show_default=False,
    ),
]


def _key_path(root: Path, key_file: Path | None) -> Path:
    return key_file if key_file is not None else root / KEY_FILE


def _key(path: Path, *, create: bool) -> bytes:
    from roost.store.checkpoints import CheckpointKeyError, load_key

    try:
        return load_key(path, create=create)
    except CheckpointKeyError as exc:
        fail(str(exc), hint=f"--key-file or ${KEY_ENV} names the key file")


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
    key_file: KeyFileOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """Check every event's hash and link; name the first edited, deleted or reordered one."""
    fmt = chosen(output, as_json)
    if expect is not None and not _HASH.match(expect):
        fail(
            f"--expect {expect!r} is not a chain hash",
            hint="64 lowercase hex digits, as `roost audit head` prints",
            code=EXIT_INVALID,
        )
    from roost.store import open_store

    root = resolve_root(project)
    key_path = _key_path(root, key_file)
    key = _key(key_path, create=False) if key_path.exists() else None
    with user_errors(), open_store(database_url, root=root) as store:
        report = store.events.verify(expect=expect, key=key)
    if fmt is not None:
        from roost.cli._shapes import AuditVerification

        shape = AuditVerification.model_validate(
            {
                **report.summary(),
                "checkpoints": report.checkpoints,
                "checkpoints_signed_checked": key is not None,
            }
        )
        emit(shape, fmt)
    elif report.intact:
        anchored = " (the recorded head is in it)" if report.anchored else ""
        console.print(
            f"audit chain intact: {report.events} event(s), head {report.head}{anchored}",
            markup=False,
        )
        if report.checkpoints:
            how = "signatures checked" if key is not None else f"NOT checked: no key at {key_path}"
            console.print(f"{report.checkpoints} checkpoint(s), {how}", markup=False)
    else:
        console.print(f"audit chain BROKEN: {report.problem}", markup=False)
    if not report.intact:
        raise typer.Exit(EXIT_FAILURE)


@audit_app.command("head")
def head(
    project: ProjectOpt = None, database_url: DatabaseOpt = None, output: FormatOpt = None
) -> None:
    """Print the chain's head hash: record it elsewhere to anchor the log."""
    from roost.store import open_store

    fmt = chosen(output)
    with user_errors(), open_store(database_url, root=resolve_root(project)) as store:
        latest, count = store.events.head()
    if fmt is not None:
        from roost.cli._shapes import AuditHead

        emit(AuditHead(head=latest, events=count), fmt)
        return
    typer.echo(f"{latest} {count}")


@audit_app.command("checkpoint")
def checkpoint(
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    key_file: KeyFileOpt = None,
    as_: AsOpt = None,
) -> None:
    """Append a signed checkpoint (HMAC of the head, key kept outside the database). Run it
    now and then (cron): rewriting events before a checkpoint then needs the key too."""
    from roost.store import open_store
    from roost.store.checkpoints import sign

    root = resolve_root(project)
    key = _key(_key_path(root, key_file), create=True)
    with user_errors(), open_store(database_url, root=root) as store:
        event = store.events.append_checkpoint(
            lambda head, count: sign(key, head, count), source="roost/cli/audit", actor=who(as_)
        )
    data = event.data
    console.print(
        f"checkpoint {event.id}: {data['events']} event(s) up to {data['head']} signed "
        f"(key id {data['key_id']})",
        markup=False,
    )
