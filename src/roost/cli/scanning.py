"""``roost sbom``, ``roost scan`` and ``roost vulndb``: SBOMs and offline vulnerability scans.

``roost sbom TARGET`` writes CycloneDX 1.6 JSON for an artifact of the project's store (tag or
digest) or a folder (venv, site-packages, project). ``roost scan TARGET`` matches it — or a
CycloneDX SBOM file — against the local OSV database and shows each finding with every
dependency path and the upgrade that removes it; with ``--env`` it applies that environment's
policy and exits 1 when the policy fails. ``roost vulndb import|sync|info`` fills and describes
the database (``.roost/vulndb/osv.sqlite``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import JsonOpt, OutputOpt, ProjectOpt
from roost.cli._output import EXIT_FAILURE, EXIT_INVALID, console, err_console, fail
from roost.cli._tables import Table
from roost.cli.artifacts import artifact_errors

if TYPE_CHECKING:
    from roost.scan import ImportReport, VulnDB
    from roost.spec import Project

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="ROOST_VULNDB",
        help="Vulnerability database file (default: .roost/vulndb/osv.sqlite of the project).",
        show_default=False,
    ),
]

vulndb_app = typer.Typer(
    help="The offline vulnerability database (OSV records): import, sync, info.",
    no_args_is_help=True,
)


@contextmanager
def _errors() -> Iterator[None]:
    from roost.scan import NotAnSbom, VulnDBError

    with artifact_errors():
        try:
            yield
        except NotAnSbom as exc:
            fail(str(exc), hint=getattr(exc, "hint", None), code=EXIT_INVALID)
        except VulnDBError as exc:
            fail(str(exc), hint=exc.hint)


def _root(project: Path | None) -> Path:
    from roost.control.paths import resolve_root
    from roost.spec import find_project_file

    if project is not None:
        return resolve_root(project)
    found = find_project_file(Path.cwd())
    return found.parent if found is not None else Path.cwd()


def _project(root: Path, *, required: bool) -> Project | None:
    from roost.control.workspace import find_project
    from roost.spec import load_project

    if not required and not (root / "roost.yaml").exists() and not (root / "roost.yml").exists():
        return None
    return load_project(find_project(root))


def _db(root: Path, path: Path | None) -> VulnDB:
    from roost.scan import open_vulndb

    return open_vulndb(root, path=path)


def _now() -> datetime:
    from roost.clock import RealClock

    return RealClock().now().astimezone(UTC)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
        return
    output.write_text(text if text.endswith("\n") else text + "\n")
    err_console.print(f"wrote {output}", markup=False)


def sbom(
    target: Annotated[
        str, typer.Argument(help="Artifact (tag or digest) or a venv / site-packages / folder.")
    ],
    output: OutputOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Write a CycloneDX 1.6 SBOM with the dependency graph."""
    from roost.scan import load_subject, to_cyclonedx

    with _errors():
        subject = load_subject(target, root=_root(project))
        if subject.kind == "sbom":
            fail(f"{target} is already an SBOM", hint="`roost scan` reads it", code=EXIT_INVALID)
        for note in subject.inventory.notes:
            err_console.print(f"roost: note: {note}", markup=False)
        _write(to_cyclonedx(subject.inventory), output)


def scan(
    target: Annotated[
        str,
        typer.Argument(help="Artifact (tag or digest), a CycloneDX SBOM file, or a folder."),
    ],
    format_: Annotated[
        str, typer.Option("--format", "-f", help="table, json, sarif or vex.")
    ] = "table",
    environment: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Apply this environment's policy (exit 1 if it fails)."),
    ] = None,
    output: OutputOpt = None,
    project: ProjectOpt = None,
    db_path: DbOpt = None,
) -> None:
    """Scan for known vulnerabilities, with dependency paths and fixes."""
    from roost.scan import judge, load_subject, save_result
    from roost.scan import scan as run_scan
    from roost.scan.policy import threshold_text, warning_text
    from roost.scan.report import to_json, to_sarif, to_vex

    if format_ not in ("table", "json", "sarif", "vex"):
        fail(f"unknown format {format_!r}", hint="table, json, sarif or vex", code=EXIT_INVALID)
    with _errors():
        root = _root(project)
        spec = _project(root, required=environment is not None)
        settings = None
        if environment is not None:
            assert spec is not None
            if environment not in spec.environments:
                fail(
                    f"no environment {environment!r}",
                    hint=f"environments: {', '.join(spec.environments)}",
                    code=EXIT_INVALID,
                )
            settings = spec.environments[environment].scan
        subject = load_subject(target, root=root)
        now = _now()
        with _db(root, db_path) as db:
            if db.count() == 0:
                fail(
                    f"the vulnerability database {db.path} is empty",
                    hint="`roost vulndb import PATH` (a folder of OSV JSON or an all.zip) or "
                    "`roost vulndb sync`",
                )
            result = run_scan(subject.inventory, db, now=now, digest=subject.digest)
        if subject.digest is not None:
            save_result(root, result)
            if spec is not None and result.findings:
                _record_findings(root, result)
        verdict = judge(
            result.findings,
            rules=spec.scan.ignore if spec is not None else [],
            settings=settings,
            now=now,
            environment=environment,
        )
        for warning in result.warnings:
            err_console.print(f"roost: warning: {warning}", markup=False)
        unknown = warning_text(verdict)
        if unknown is not None:
            err_console.print(f"roost: warning: {unknown}", markup=False)
        if format_ == "table":
            _table(result, verdict, output)
        else:
            render = {"json": to_json, "sarif": to_sarif, "vex": to_vex}[format_]
            _write(json.dumps(render(result, verdict), indent=2), output)
    if not verdict.passed:
        err_console.print(
            f"roost: {environment} refuses this: {len(verdict.blocking)} unwaived finding(s) "
            f"{threshold_text(verdict)}",
            markup=False,
        )
        raise typer.Exit(EXIT_FAILURE)


_RATINGS = ("unknown", "none", "low", "medium", "moderate", "high", "critical")


def _record_findings(root: Path, result: Any) -> None:
    """An artifact of the project has known vulnerabilities: say so on the event bus (one
    event per scan, subject = the digest), so triggers can page, file a ticket, quarantine."""
    from roost._util import event_catalog as events
    from roost.store import StoreError, open_store

    worst = max(
        (f.severity.rating for f in result.findings),
        key=lambda r: _RATINGS.index(r) if r in _RATINGS else 0,
    )
    data = {
        "digest": result.digest,
        "count": len(result.findings),
        "severity": worst,
        "findings": [
            {"id": f.id, "package": f.name, "version": f.version, "severity": f.severity.rating}
            for f in result.findings[:50]
        ],
    }
    try:
        with open_store(root=root) as store:
            store.events.append(
                events.SCAN_VULNERABILITY_FOUND,
                source=events.SOURCE_SCAN,
                subject=result.digest,
                data=data,
            )
    except StoreError as exc:
        err_console.print(f"roost: warning: the finding was not recorded: {exc}", markup=False)


def _table(result: Any, verdict: Any, output: Path | None) -> None:
    from roost.scan.report import rows

    shown = rows(result, verdict)
    title = (
        f"{result.subject}: {len(result.findings)} vulnerabilit"
        f"{'y' if len(result.findings) == 1 else 'ies'} in {result.components} packages"
    )
    if output is not None:
        lines = [title] + [
            f"{r['advisory']}  {r['package']}  {r['severity']}  fixed: {r['fixed']}  "
            f"{r['status']}\n  paths:\n    "
            + r["paths"].replace("\n", "\n    ")
            + f"\n  fix: {r['advice']}"
            for r in shown
        ]
        lines += [f"summary: {p.text}" for p in result.packages]
        _write("\n".join(lines), output)
        return
    table = Table(title=title, title_justify="left", show_lines=True)
    for column in ("advisory", "package", "severity", "fixed", "paths", "fix", "status"):
        table.add_column(column, overflow="fold")
    for row in shown:
        aliases = f"\n[dim]{row['aliases']}[/]" if row["aliases"] else ""
        table.add_row(
            row["advisory"] + aliases,
            row["package"],
            row["severity"],
            row["fixed"],
            row["paths"],
            row["advice"],
            row["status"],
        )
    console.print(table)
    for package in result.packages:
        console.print(f"{package.text}", markup=False, soft_wrap=True)


@contextmanager
def _progress(what: str) -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _report(report: ImportReport) -> None:
    for warning in report.warnings:
        err_console.print(f"roost: warning: {warning}", markup=False)
    console.print(
        f"imported {report.read} records from {report.source}: {report.added} new, "
        f"{report.updated} updated, {report.unchanged} unchanged"
        + (f", {report.older} older than stored" if report.older else "")
        + (f", {report.skipped} skipped" if report.skipped else ""),
        markup=False,
        soft_wrap=True,
    )


@vulndb_app.command("import")
def vulndb_import(
    path: Annotated[Path, typer.Argument(help="A folder of OSV JSON files, one file, or all.zip.")],
    project: ProjectOpt = None,
    db_path: DbOpt = None,
) -> None:
    """Import OSV records; unreadable ones are skipped with a warning naming the file."""
    with _errors(), _db(_root(project), db_path) as db, _progress(f"importing {path.name}") as up:
        report = db.import_path(path, now=_now(), progress=up)
    _report(report)


@vulndb_app.command("sync")
def vulndb_sync(
    ecosystem: Annotated[
        list[str] | None, typer.Option("--ecosystem", help="OSV ecosystem (repeatable).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Base URL serving <ecosystem>/all.zip (default: $ROOST_OSV_URL, else "
            "OSV's public data dump)."
        ),
    ] = None,
    project: ProjectOpt = None,
    db_path: DbOpt = None,
) -> None:
    """Download each ecosystem's all.zip and import it (needs a network)."""
    from roost.scan import default_base_url

    base = url or default_base_url()
    with _errors(), _db(_root(project), db_path) as db:
        for name in ecosystem or ["PyPI"]:
            with _progress(f"downloading {name}") as down:
                report = db.sync(name, base_url=base, now=_now(), download=down)
            _report(report)


@vulndb_app.command("info")
def vulndb_info(
    project: ProjectOpt = None,
    db_path: DbOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """What the database holds: records per ecosystem, when it was last imported."""
    fmt = chosen(output, as_json)
    with _errors(), _db(_root(project), db_path) as db:
        info = db.info()
    data = {
        "path": str(info.path),
        "records": info.records,
        "withdrawn": info.withdrawn,
        "packages": info.packages,
        "ecosystems": info.ecosystems,
        "imported_at": info.imported_at,
        "sources": info.sources,
    }
    if fmt is not None:
        from roost.cli._shapes import VulnDbInfo

        emit(VulnDbInfo.model_validate(data), fmt)
        return
    console.print(f"database: {info.path}", markup=False)
    console.print(
        f"records: {info.records} ({info.withdrawn} withdrawn), packages: {info.packages}",
        markup=False,
    )
    for name, count in info.ecosystems.items():
        console.print(f"  {name}: {count}", markup=False)
    console.print(f"last import: {info.imported_at or 'never'}", markup=False)
    if not info.records:
        console.print("empty: `roost vulndb import PATH` or `roost vulndb sync`", markup=False)


__all__ = ["sbom", "scan", "vulndb_app"]
