"""``roost lease …`` and ``roost lock …``: look at leases and locks, and break them on purpose.

Both read the configured lease backend (``ROOST_LEASE_BACKEND``: the state store by default,
etcd or Kubernetes) and write their audit events to the state store. Deleting a lease or
breaking a lock is never silent: it asks for confirmation or a reason, and lands in the event
log with who did it.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost._util import event_catalog
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, ProjectOpt
from roost.cli._output import EXIT_INVALID, console, err_console, fail, user_errors
from roost.cli._tables import Table
from roost.control.paths import resolve_root

if TYPE_CHECKING:
    from roost.cli._shapes import LeaseItem
    from roost.leases import Lease, LeaseBackend
    from roost.store import Store

ActorOpt = Annotated[
    str | None,
    typer.Option(
        help="Who is doing this, for the audit log (default: $ROOST_USER, then user@host)."
    ),
]

lease_app = typer.Typer(
    help="Leases: who leads the control plane, who holds which lock or node.",
    no_args_is_help=True,
)
lock_app = typer.Typer(
    help="Deploy locks: leases with a holder, a reason and an expiry.", no_args_is_help=True
)


@contextmanager
def _opened(project: Path | None, database_url: str | None) -> Iterator[tuple[Store, LeaseBackend]]:
    from roost.leases import open_backend
    from roost.store import open_store

    with _lease_errors(), user_errors():
        store = open_store(database_url, root=resolve_root(project))
        try:
            backend = open_backend(store)
            try:
                yield store, backend
            finally:
                backend.close()
        finally:
            store.close()


@contextmanager
def _lease_errors() -> Iterator[None]:
    from roost.leases import LeaseError

    try:
        yield
    except LeaseError as exc:
        fail(str(exc), hint=exc.hint)
    except ValueError as exc:  # a malformed name or reason
        fail(str(exc), code=EXIT_INVALID)


def _actor(actor: str | None) -> str:
    # The same order as every other command (--actor, then $ROOST_USER), falling back to
    # user@host: a lease is held on one machine.
    named = actor or os.environ.get("ROOST_USER", "").strip()
    return named or f"{getpass.getuser()}@{socket.gethostname()}"


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# -- roost lease ---------------------------------------------------------------------------


def _lease_item(lease: Lease) -> LeaseItem:
    from roost.cli._shapes import LeaseItem

    return LeaseItem(
        name=lease.name,
        holder=lease.holder,
        fencing_token=lease.fencing_token,
        transitions=lease.transitions,
        duration_seconds=lease.duration_seconds,
        acquired_at=_when(lease.acquired_at),
        renewed_at=_when(lease.renewed_at),
        expires_at=_when(lease.expires_at),
        reason=lease.reason,
        version=str(lease.version),
    )


@lease_app.command("list")
def lease_list(
    project: ProjectOpt = None, database_url: DatabaseOpt = None, output: FormatOpt = None
) -> None:
    """Every lease: holder, fencing token, transitions and times (by the holder's clock)."""
    fmt = chosen(output)
    with _opened(project, database_url) as (_, backend):
        leases = backend.list()
    if fmt is not None:
        from roost.cli._shapes import LeaseList

        emit(LeaseList(backend=backend.kind, items=[_lease_item(x) for x in leases]), fmt)
        return
    table = Table(
        "name",
        "holder",
        "token",
        "transitions",
        "duration",
        "renewed",
        "reason",
        title=f"leases on {backend.kind} ({len(leases)})",
    )
    for lease in leases:
        table.add_row(
            lease.name,
            lease.holder or "(free)",
            str(lease.fencing_token),
            str(lease.transitions),
            f"{lease.duration_seconds:g}s",
            _when(lease.renewed_at),
            lease.reason or "",
        )
    console.print(table)


@lease_app.command("describe")
def lease_describe(
    name: Annotated[str, typer.Argument(help="The lease, e.g. roost/control-plane.")],
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    output: FormatOpt = None,
) -> None:
    """One lease in full."""
    fmt = chosen(output)
    with _opened(project, database_url) as (_, backend):
        lease = backend.get(name)
    if lease is None:
        fail(f"no lease {name!r}", hint="`roost lease list` shows the leases that exist")
    if fmt is not None:
        from roost.cli._shapes import LeaseDescription

        emit(LeaseDescription(backend=backend.kind, lease=_lease_item(lease)), fmt)
        return
    rows = [
        ("name", lease.name),
        ("holder", lease.holder or "(free: released)"),
        ("fencing token", str(lease.fencing_token)),
        ("transitions", str(lease.transitions)),
        ("duration", f"{lease.duration_seconds:g}s"),
        ("acquired", _when(lease.acquired_at)),
        ("renewed", _when(lease.renewed_at)),
        (
            "expires",
            f"{_when(lease.expires_at)} (by the holder's clock; contenders judge by their own)",
        ),
        ("reason", lease.reason or ""),
        ("version", lease.version),
        ("backend", backend.kind),
    ]
    for key, value in rows:
        console.print(f"{key + ':':15}{value}", markup=False)


@lease_app.command("delete")
def lease_delete(
    name: Annotated[str, typer.Argument(help="The lease to delete.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete it even though it is held.")
    ] = False,
    actor: ActorOpt = None,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Delete a lease: whoever holds it loses it, and a new election (or lock holder) follows."""
    with _opened(project, database_url) as (store, backend):
        lease = backend.get(name)
        if lease is None:
            fail(f"no lease {name!r}", hint="`roost lease list` shows the leases that exist")
        if lease.holder is not None and not yes:
            _warn(lease)
            fail(
                f"not deleting lease {name!r} held by {lease.holder!r}",
                hint="pass --yes to delete it anyway",
                code=EXIT_INVALID,
            )
        deleted = backend.delete(name)
        store.events.append(
            event_catalog.LEASE_DELETED,
            source="roost/cli",
            subject=name,
            actor=_actor(actor),
            data={
                "lease": name,
                "holder": lease.holder,
                "fencing_token": lease.fencing_token,
                "backend": backend.kind,
            },
        )
    if deleted:
        after = "a new election follows" if lease.holder else "it was not held"
        console.print(f"deleted lease {name!r}: {after}", markup=False)
    else:
        console.print(f"lease {name!r} was already gone", markup=False)


def _warn(lease: Lease) -> None:
    err_console.print(
        f"warning: lease {lease.name!r} is held by {lease.holder!r} (fencing token "
        f"{lease.fencing_token}). Deleting it makes {lease.holder!r} lose it: a new election "
        "starts, and writes fenced with the old token are refused from then on.",
        markup=False,
    )


# -- roost lock ----------------------------------------------------------------------------


@lock_app.command("list")
def lock_list(
    project: ProjectOpt = None, database_url: DatabaseOpt = None, output: FormatOpt = None
) -> None:
    """The locks that are held: holder, reason, and when they expire unless renewed."""
    from roost.leases import Locks

    fmt = chosen(output)
    with _opened(project, database_url) as (store, backend):
        locks = Locks(backend, events=store.events).list()
    if fmt is not None:
        from roost.cli._shapes import LockItem, LockList

        items = [
            LockItem(
                name=lock.name,
                holder=lock.holder,
                reason=lock.reason,
                acquired_at=_when(lock.acquired_at),
                expires_at=_when(lock.expires_at),
            )
            for lock in locks
        ]
        emit(LockList(items=items), fmt)
        return
    table = Table("name", "holder", "reason", "acquired", "expires", title=f"locks ({len(locks)})")
    for lock in locks:
        table.add_row(
            lock.name,
            lock.holder,
            lock.reason or "",
            _when(lock.acquired_at),
            f"{_when(lock.expires_at)} unless renewed",
        )
    console.print(table)


@lock_app.command("release")
def lock_release(
    name: Annotated[str, typer.Argument(help="The lock, e.g. deploy/web/prod.")],
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Why (required: it goes into the audit log).")
    ],
    actor: ActorOpt = None,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Release a lock whoever holds it. Audited: the event log records who, whose and why."""
    from roost.leases import Locks

    if not reason.strip():
        fail("--reason must not be empty", hint="say why the lock is broken", code=EXIT_INVALID)
    with _opened(project, database_url) as (store, backend):
        lock = Locks(backend, events=store.events).force_release(
            name, actor=_actor(actor), reason=reason
        )
    console.print(
        f"released lock {name!r} held by {lock.holder!r} since {_when(lock.acquired_at)} "
        f"({lock.reason or 'no reason given'}); audited as dev.roost.lock.released",
        markup=False,
    )
