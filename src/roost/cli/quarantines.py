"""``roost artifacts quarantine|release|quarantined``: refuse deploys of an artifact digest until
it is released. Written straight to the state store and audited with who did it (the same
functions as the ``quarantine`` action a trigger runs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost._util import event_catalog as events
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import ProjectOpt
from roost.cli._output import EXIT_INVALID, console, fail, user_errors
from roost.cli._people import AsOpt, who
from roost.cli._tables import Table

if TYPE_CHECKING:
    from roost.control.workspace import Workspace

DigestArg = Annotated[str, typer.Argument(help="The artifact digest, sha256:<64 hex>.")]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why (shown to refused deploys).")]


def _checked(digest: str) -> str:
    from roost.spec.actions import DIGEST_PATTERN

    text = digest.strip().removeprefix("oci:")
    if not DIGEST_PATTERN.fullmatch(text):
        fail(
            f"{digest!r} is not an artifact digest",
            hint="write sha256:<64 lowercase hex digits> (`roost artifacts list` shows them)",
            code=EXIT_INVALID,
        )
    return text


def _workspace(project: Path | None) -> Workspace:
    from roost.control.workspace import open_workspace

    with user_errors():
        return open_workspace(project)


def quarantine(
    digest: DigestArg, reason: ReasonOpt, project: ProjectOpt = None, as_: AsOpt = None
) -> None:
    """Refuse every deploy of DIGEST until `roost artifacts release DIGEST`."""
    from roost.actions.quarantining import quarantine as put

    digest = _checked(digest)
    if not reason.strip():
        fail("--reason is empty", hint="say why, e.g. --reason CVE-2024-1234", code=EXIT_INVALID)
    with _workspace(project) as ws, user_errors():
        record, new = put(
            ws.store,
            digest,
            reason=reason.strip(),
            actor=who(as_),
            source=events.SOURCE_CLI,
            fence=None,
        )
    if new:
        console.print(f"quarantined {digest}: deploys of it are refused", markup=False)
    else:
        console.print(
            f"{digest} was already quarantined by {record.quarantined_by}: {record.reason}",
            markup=False,
        )


def release(
    digest: DigestArg, reason: ReasonOpt, project: ProjectOpt = None, as_: AsOpt = None
) -> None:
    """Lift the quarantine of DIGEST (audited with the reason)."""
    from roost.actions.quarantining import release as lift

    digest = _checked(digest)
    with _workspace(project) as ws, user_errors():
        record = lift(
            ws.store,
            digest,
            reason=reason.strip(),
            actor=who(as_),
            source=events.SOURCE_CLI,
            fence=None,
        )
    if record is None:
        fail(f"{digest} is not quarantined", hint="`roost artifacts quarantined` lists them")
    console.print(f"released {digest}: it may be deployed again", markup=False)


def quarantined(project: ProjectOpt = None, output: FormatOpt = None) -> None:
    """List quarantined digests."""
    fmt = chosen(output)
    with _workspace(project) as ws, user_errors():
        records = ws.store.quarantines.list()
    if fmt is not None:
        from roost.cli._shapes_ops import QuarantineItem, QuarantineList

        items = [
            QuarantineItem(
                digest=r.digest,
                reason=r.reason,
                quarantined_by=r.quarantined_by,
                quarantined_at=r.quarantined_at.isoformat(),
            )
            for r in records
        ]
        emit(QuarantineList(items=items), fmt)
        return
    if not records:
        console.print("no artifact is quarantined", markup=False)
        return
    table = Table("digest", "since (UTC)", "by", "reason")
    for r in records:
        table.add_row(r.digest, f"{r.quarantined_at:%Y-%m-%d %H:%M}", r.quarantined_by, r.reason)
    console.print(table)
