"""``roost secret set|list|versions|rotate-key``: the project's sealed secrets.

Values go in through stdin or ``--from-file`` — never through the command line, which other
users can read in the process list and which ends up in shell history — and never come out:
the commands show names, versions, environments and keyed digests. The state store is opened
directly (like ``roost release``), with the key-encryption key from ``$ROOST_SECRET_KEY``,
roost.yaml's ``secret_store.key_command`` or the key file (docs/secrets.md).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, ProjectOpt
from roost.cli._output import console, fail, user_errors
from roost.cli._people import AsOpt, who
from roost.cli._tables import Table

if TYPE_CHECKING:
    from roost.control.releases.vault import Vault

secret_app = typer.Typer(
    help="Sealed secrets: set (from stdin or a file), list, versions, rotate-key.",
    no_args_is_help=True,
)


@contextmanager
def _vault(project: Path | None, database_url: str | None) -> Iterator[Vault]:
    from roost.control.releases.errors import ReleaseError
    from roost.control.releases.vault import vault_of
    from roost.control.workspace import open_workspace
    from roost.secrets import SecretKeyError

    with user_errors():
        ws = open_workspace(project, database_url=database_url)
    with ws:
        try:
            with user_errors():
                yield vault_of(ws)
        except (ReleaseError, SecretKeyError) as exc:
            fail(str(exc), hint=exc.hint or None)


def _read_value(from_file: Path | None) -> str:
    if from_file is not None:
        try:
            data = from_file.read_bytes()
        except OSError as exc:
            fail(f"cannot read {from_file}: {exc.strerror}", code=2)
    elif sys.stdin.isatty():
        # Typed at a prompt without echo: the value is in no argv, history or scrollback.
        data = getpass.getpass("value (not shown): ").encode()
    else:
        data = sys.stdin.buffer.read()
    try:
        text = data.decode()
    except UnicodeDecodeError:
        fail("the value is not UTF-8 text", hint="secrets are text (base64-encode binary)", code=2)
    # One trailing newline is how `echo` and editors end a line, not part of the value.
    return text.removesuffix("\n").removesuffix("\r")


@secret_app.command("set")
def set_secret(
    name: Annotated[str, typer.Argument(help="Secret name, used as roost:NAME in roost.yaml.")],
    # Caught to be refused without being repeated (click would echo an unexpected argument).
    value_in_argv: Annotated[str | None, typer.Argument(hidden=True, show_default=False)] = None,
    environment: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Only for this environment (default: every one)."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Read the value from this file (default: stdin)."),
    ] = None,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Store a new version of secret NAME, read from stdin (or --from-file), sealed with
    AES-GCM; the next release that reads roost:NAME pins it."""
    from roost.control.releases.vault import value_problem
    from roost.spec.services import SECRET_NAME_RULE, parse_stored_reference

    if value_in_argv is not None:
        fail(
            "roost secret set takes the value from stdin or --from-file, never from the command "
            "line (other users can read it in the process list; shells keep it in history)",
            hint=f'printf %s "$VALUE" | roost secret set {name}',
            code=2,
        )
    try:
        parse_stored_reference(name)
    except ValueError:
        fail(f"{name!r} is not a secret name", hint=SECRET_NAME_RULE, code=2)
    value = _read_value(from_file)
    if (problem := value_problem(value)) is not None:
        fail(f"secret {name}: {problem}", code=2)
    with _vault(project, database_url) as vault:
        if environment is not None:
            known = vault_environments(project)
            if environment not in known:
                fail(
                    f"unknown environment {environment!r}",
                    hint=f"environments: {', '.join(known)}",
                    code=2,
                )
        record = vault.set_named(name, value, scope=environment or "", by=who(as_))
    where = f"for {environment}" if environment else "for every environment"
    console.print(
        f"{record.name}: version {record.version} ({where}); the next release that reads "
        f"roost:{record.name} pins it",
        markup=False,
    )


def vault_environments(project: Path | None) -> list[str]:
    from roost.control.workspace import find_project
    from roost.spec import load_project

    return list(load_project(find_project(project)).environments)


@secret_app.command("list")
def list_secrets(
    project: ProjectOpt = None, database_url: DatabaseOpt = None, output: FormatOpt = None
) -> None:
    """Every stored secret: its latest version and environments (never a value). Names
    env:VAR and file:path are values that releases sealed when they were cut."""
    fmt = chosen(output)
    with _vault(project, database_url) as vault:
        found = vault.names()
    if fmt is not None:
        from roost.cli._shapes_ops import SecretItem, SecretList

        items = [
            SecretItem(
                name=name,
                latest_version=versions[0].version,
                versions=len(versions),
                environments=sorted({v.scope or "*" for v in versions}),
                latest_digest=versions[0].digest,
                updated_at=versions[0].created_at.isoformat(),
                updated_by=versions[0].created_by,
            )
            for name, versions in found.items()
        ]
        emit(SecretList(items=items), fmt)
        return
    table = Table("secret", "latest", "versions", "environments", "updated", "by", title="secrets")
    for name, versions in found.items():
        latest = versions[0]
        scopes = sorted({v.scope or "*" for v in versions})
        table.add_row(
            name,
            str(latest.version),
            str(len(versions)),
            ", ".join(scopes),
            latest.created_at.isoformat(timespec="seconds"),
            latest.created_by,
        )
    console.print(table)


@secret_app.command("versions")
def versions(
    name: Annotated[str, typer.Argument(help="Secret name.")],
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    output: FormatOpt = None,
) -> None:
    """The versions of secret NAME, newest first, with keyed digests (never values)."""
    fmt = chosen(output)
    with _vault(project, database_url) as vault:
        found = vault.versions(name)
    if not found:
        fail(f"no secret {name!r}", hint="`roost secret list` shows them", code=2)
    if fmt is not None:
        from roost.cli._shapes_ops import SecretVersionItem, SecretVersionList

        items = [
            SecretVersionItem(
                version=r.version,
                environment=r.scope or "*",
                digest=r.digest,
                created_at=r.created_at.isoformat(),
                created_by=r.created_by,
            )
            for r in found
        ]
        emit(SecretVersionList(name=name, items=items), fmt)
        return
    table = Table("version", "environment", "created", "by", "digest", title=name)
    for record in found:
        table.add_row(
            str(record.version),
            record.scope or "*",
            record.created_at.isoformat(timespec="seconds"),
            record.created_by,
            record.digest,
        )
    console.print(table)


@secret_app.command("rotate-key")
def rotate_key(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="The new key (32 bytes in base64); needed when the key comes from "
            "$ROOST_SECRET_KEY or key_command, default for a key file: a new random one.",
        ),
    ] = None,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    as_: AsOpt = None,
) -> None:
    """Re-wrap every secret's data key under a new key-encryption key, in one transaction:
    every secret moves to the new key, or none does."""
    from roost.secrets import SecretKeyError, parse_key

    new_key = None
    if new_key_file is not None:
        try:
            new_key = parse_key(new_key_file.read_bytes(), where=str(new_key_file))
        except OSError as exc:
            fail(f"cannot read {new_key_file}: {exc.strerror}", code=2)
        except SecretKeyError as exc:
            fail(str(exc), hint=exc.hint, code=2)
    with _vault(project, database_url) as vault:
        kek_id, count = vault.rotate_key(new_key, by=who(as_))
        where = vault.keys.describe()
    console.print(f"re-wrapped {count} data key(s) under key {kek_id} ({where})", markup=False)
    if new_key_file is not None:
        console.print(
            f"now make {where} give the new key; the old one opens nothing any more",
            markup=False,
        )
