"""``roost identity keys|rotate-key``: the keys that sign workload tokens.

They work on the project's key file directly (``.roost/identity/``), with or without a running
``roost serve``: every control plane of the project reads the file again when it changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from roost._util import event_catalog as events
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import ProjectOpt
from roost.cli._output import console, fail, user_errors
from roost.cli._people import AsOpt, who
from roost.cli._tables import Table

if TYPE_CHECKING:
    from roost.identity import PublicKey

identity_app = typer.Typer(
    help="Workload identity: the keys that sign each replica's token (see docs/identity.md).",
    no_args_is_help=True,
)


@identity_app.command("keys")
def keys(project: ProjectOpt = None, output: FormatOpt = None) -> None:
    """The published signing keys: the active one and retired ones whose tokens may still be
    valid (the JWKS at /.well-known/jwks.json lists the same)."""
    fmt = chosen(output)
    from roost.control.wiring import identity_keys
    from roost.control.workspace import open_workspace
    from roost.identity import KeyStoreError

    with user_errors():
        ws = open_workspace(project)
    with ws:
        try:
            published = identity_keys(ws).public_keys()
        except KeyStoreError as exc:
            fail(str(exc), hint=exc.hint)
    now = ws.clock.now()
    if fmt is not None:
        from roost.cli._shapes_ops import SigningKeyItem, SigningKeyList

        def iso(when: datetime | None) -> str | None:
            return when.isoformat() if when is not None else None

        items = [
            SigningKeyItem(
                kid=key.kid,
                created_at=key.created_at.isoformat(),
                state=_word(key, now),
                signs_from=iso(key.signs_from),
                retired_at=iso(key.retired_at),
                verify_until=iso(key.verify_until),
            )
            for key in published
        ]
        emit(SigningKeyList(items=items), fmt)
        return
    table = Table("kid", "created", "state", title="workload identity signing keys")
    for key in published:
        table.add_row(key.kid, key.created_at.isoformat(timespec="seconds"), _state(key, now))
    console.print(table)
    if not published:
        console.print("no key yet: `roost serve` makes the first one", markup=False)


def _word(key: PublicKey, now: datetime) -> Literal["published", "active", "retiring", "retired"]:
    """The key's state in one word (the same cases as :func:`_state`)."""
    if key.signs_from is not None and key.signs_from > now:
        return "published"
    if key.retired_at is None or key.verify_until is None:
        return "active"
    return "retiring" if key.retired_at > now else "retired"


def _state(key: PublicKey, now: datetime) -> str:
    def at(when: datetime) -> str:
        return when.isoformat(timespec="seconds")

    if key.signs_from is not None and key.signs_from > now:
        return f"published; signs from {at(key.signs_from)}"
    if key.retired_at is None or key.verify_until is None:
        return "active (signs)"
    if key.retired_at > now:
        return f"active until {at(key.retired_at)}; verifies until {at(key.verify_until)}"
    return f"retired; verifies until {at(key.verify_until)}"


@identity_app.command("rotate-key")
def rotate_key(
    project: ProjectOpt = None,
    as_: AsOpt = None,
    immediately: Annotated[
        bool,
        typer.Option(
            "--immediately",
            help="Sign with the new key at once (a leaked key), without the minute's notice "
            "that lets verifiers fetch it first: they may refuse new tokens for a while.",
        ),
    ] = False,
) -> None:
    """Make a new signing key. It is published at once and signs after a minute's notice;
    the old one stays in the JWKS until every token it signed has expired (its last token's
    15 minutes and a minute's leeway). Replicas get tokens signed by the new key at their
    next renewal."""
    from roost.control.wiring import identity_keys
    from roost.control.workspace import open_workspace
    from roost.identity import KeyStoreError

    with user_errors():
        ws = open_workspace(project)
    with ws:
        try:
            keys = identity_keys(ws)
            new, retired = keys.rotate(notice=timedelta(0)) if immediately else keys.rotate()
        except KeyStoreError as exc:
            fail(str(exc), hint=exc.hint)
        data: dict[str, str | None] = {
            "kid": new.kid,
            "retired_kid": retired.kid if retired else None,
            "retired_verifies_until": retired.verify_until.isoformat()
            if retired and retired.verify_until
            else None,
        }
        ws.store.events.append(
            events.IDENTITY_KEY_ROTATED,
            source=events.SOURCE_CLI,
            subject=ws.project.project,
            data=data,
            actor=who(as_),
        )
    starts = new.signs_from.isoformat(timespec="seconds") if new.signs_from else "now"
    console.print(f"new signing key {new.kid}: published, signs from {starts}", markup=False)
    if retired is not None and retired.verify_until is not None:
        until = retired.verify_until.isoformat(timespec="seconds")
        console.print(
            f"retired {retired.kid}: signs until {starts}, stays published until {until}",
            markup=False,
        )
