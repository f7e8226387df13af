"""``roost release list|show|diff``: the immutable releases, read from the state store.

No running control plane is needed. A diff compares what a rollback would restore: the
artifact, every setting of the config snapshot (config file contents included), the pinned
secrets (by reference, version and digest — never a value) and the schema range.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, ProjectOpt
from roost.cli._output import console, fail, user_errors
from roost.cli._tables import Table
from roost.cli.state import _open

if TYPE_CHECKING:
    from roost.store import ReleaseRecord, Store

release_app = typer.Typer(
    help="Releases: code + config snapshot + secret versions + schema range.",
    no_args_is_help=True,
)


def _get(store: Store, release_id: str) -> ReleaseRecord:
    from roost.store import Ambiguous, NotFound

    try:
        return store.releases.find(release_id)
    except NotFound:
        fail(f"no release {release_id!r}", hint="`roost release list` shows them", code=2)
    except Ambiguous as exc:
        fail(str(exc), hint=exc.hint, code=2)


@release_app.command("list")
def list_releases(
    service: Annotated[str | None, typer.Argument(help="Only this service's releases.")] = None,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    output: FormatOpt = None,
) -> None:
    """Releases, newest first."""
    fmt = chosen(output)
    with _open(project, database_url) as store, user_errors():
        found = store.releases.list(service, limit=limit)
    if fmt is not None:
        from roost.cli._shapes import ReleaseItem, ReleaseList

        items = [
            ReleaseItem(
                id=r.id,
                service=r.service,
                artifact=r.artifact,
                created_at=r.created_at.isoformat(),
                created_by=r.created_by,
                schema_requires=r.schema_requires,
                schema_migrates_to=r.schema_migrates_to,
                notes=r.notes,
            )
            for r in found
        ]
        emit(ReleaseList(items=items), fmt)
        return
    table = Table("release", "created", "by", "schema", "migrates to", "notes", title="releases")
    for release in found:
        table.add_row(
            release.id,
            release.created_at.isoformat(timespec="seconds"),
            release.created_by,
            release.schema_requires or "—",
            "—" if release.schema_migrates_to is None else str(release.schema_migrates_to),
            release.notes,
        )
    console.print(table)


def _short(release: ReleaseRecord) -> dict[str, Any]:
    from roost.secrets import withhold_plain

    return {
        "id": release.id,
        "service": release.service,
        "artifact": release.artifact,
        "created_at": release.created_at.isoformat(),
        "created_by": release.created_by,
        "schema": {"requires": release.schema_requires, "migrates_to": release.schema_migrates_to},
        "secrets": withhold_plain(release.secrets),
        "config": release.config,
    }


@release_app.command("show")
def show(
    release_id: Annotated[str, typer.Argument(help="Release id, e.g. web-r3.")],
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Everything a release pins (secret digests, never values)."""
    with _open(project, database_url) as store, user_errors():
        release = _get(store, release_id)
    console.print_json(data=_short(release))


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` → ``{"a.b": "1"}``; lists by index, config files by path."""
    if isinstance(value, dict):
        items: dict[str, str] = {}
        for key, item in value.items():
            items.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(value, list):
        if all(isinstance(i, dict) and "path" in i and "content" in i for i in value) and value:
            return {f"{prefix}[{i['path']}]": str(i["content"]) for i in value}
        items = {}
        for index, item in enumerate(value):
            items.update(flatten(item, f"{prefix}[{index}]"))
        return items
    return {prefix: json.dumps(value) if not isinstance(value, str) else value}


def release_diff(a: ReleaseRecord, b: ReleaseRecord) -> list[tuple[str, str | None, str | None]]:
    """Every key whose value differs between ``a`` and ``b``: (key, in a, in b)."""
    left = flatten(_short(a) | {"id": None, "created_at": None, "created_by": None})
    right = flatten(_short(b) | {"id": None, "created_at": None, "created_by": None})
    return [
        (key, left.get(key), right.get(key))
        for key in sorted(set(left) | set(right))
        if left.get(key) != right.get(key)
    ]


@release_app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="The older release.")],
    b: Annotated[str, typer.Argument(help="The newer release.")],
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """What changes between two releases: what a rollback from B to A restores."""
    with _open(project, database_url) as store, user_errors():
        left, right = _get(store, a), _get(store, b)
    if left.service != right.service:
        fail(f"{a} is of {left.service}, {b} of {right.service}", code=2)
    changes = release_diff(left, right)
    if not changes:
        console.print(f"{a} and {b} are the same release apart from their ids", markup=False)
        return
    table = Table("setting", a, b, title=f"{a} → {b}")
    for key, old, new in changes:
        # Text, not markup: config keys and values may contain [brackets].
        table.add_row(
            Text(key), Text("—" if old is None else old), Text("—" if new is None else new)
        )
    console.print(table)
