"""The local vulnerability database: OSV records imported from files, indexed by package.

::

    .roost/vulndb/osv.sqlite    records (id, modified, JSON body) + an index
                                 (ecosystem, normalized package name) → record id

Import takes a directory of ``*.json`` records (searched recursively), one ``.json`` file, or an
OSV ``all.zip`` as published per ecosystem. A record that cannot be read — a corrupt zip member,
JSON that does not parse, a document that is not an OSV record — is skipped with a warning
naming the file; everything else is imported. Importing the same record again keeps the newer
``modified`` one, so importing is idempotent and an old dump never overwrites a newer one; the
report counts a record identical to the stored one as *unchanged* (and does not rewrite it),
one with a newer ``modified`` or other content as *updated*, and an older one as *older*.

``sync`` downloads ``<base>/<ecosystem>/all.zip`` (the layout of OSV's public data dump) and
imports it. The base URL is configurable (``ROOST_OSV_URL``), since the point of an offline
database is that it can come from a mirror or a USB stick too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from roost.scan.osv import MalformedRecord, Record, normalize_name, parse_record

VULNDB_DIR = Path(".roost") / "vulndb"
DB_FILE = "osv.sqlite"
URL_ENV = "ROOST_OSV_URL"
_BUCKET = ("osv-vulnerabilities",)
_BATCH = 2000

Progress = Callable[[int, int], None]
"""Called with (done, total) while importing."""

_meta = sa.MetaData()
_records = sa.Table(
    "records",
    _meta,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("modified", sa.String, nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)
_affected = sa.Table(
    "affected",
    _meta,
    sa.Column("ecosystem", sa.String, nullable=False),
    sa.Column("package", sa.String, nullable=False),
    sa.Column("record_id", sa.String, nullable=False),
    sa.Index("affected_by_package", "ecosystem", "package"),
    sa.Index("affected_by_record", "record_id"),
)
_info = sa.Table(
    "info",
    _meta,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


class VulnDBError(Exception):
    """The database or an import source cannot be used (one line, with a hint)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class ImportReport:
    source: str
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    """Identical to the stored record (not rewritten)."""
    older: int = 0
    """Older than the stored record (kept out)."""
    warnings: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.warnings)


@dataclass(frozen=True)
class DbInfo:
    path: Path
    records: int
    withdrawn: int
    packages: int
    ecosystems: dict[str, int]
    imported_at: str | None
    sources: list[str]


def default_base_url() -> str:
    """The OSV data dump's base URL: ``$ROOST_OSV_URL``, else its public bucket."""
    configured = os.environ.get(URL_ENV)
    if configured:
        return configured.rstrip("/")
    host = ".".join(("storage", "googleapis", "com"))
    return f"https://{host}/{_BUCKET[0]}"


class VulnDB:
    """One SQLite file of OSV records. Open with :func:`open_vulndb`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{path}")
        with self.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        _meta.create_all(self.engine)
        self._cache: dict[str, Record] = {}

    # -- reading --------------------------------------------------------------------------------

    def lookup(self, ecosystem: str, name: str) -> list[Record]:
        """Every record with an ``affected`` entry for ``name`` in ``ecosystem`` (withdrawn
        ones included: matching skips them and says why)."""
        package = normalize_name(ecosystem, name)
        query = (
            sa.select(_records.c.id, _records.c.body)
            .join(_affected, _affected.c.record_id == _records.c.id)
            .where(_affected.c.ecosystem == ecosystem.split(":", 1)[0])
            .where(_affected.c.package == package)
            .distinct()
        )
        found = []
        with self.engine.connect() as conn:
            for record_id, body in conn.execute(query):
                record = self._cache.get(record_id)
                if record is None:
                    record = Record.model_validate_json(body)
                    self._cache[record_id] = record
                found.append(record)
        return found

    def get(self, record_id: str) -> Record | None:
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(_records.c.body).where(_records.c.id == record_id)
            ).scalar()
        return None if body is None else Record.model_validate_json(body)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_records)).scalar_one())

    def stamp(self) -> str | None:
        """When records were last imported (ISO 8601), None for an empty database."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(_info.c.value).where(_info.c.key == "imported_at")
            ).scalar()
        return None if value is None else str(value)

    def info(self) -> DbInfo:
        with self.engine.connect() as conn:
            records = int(
                conn.execute(sa.select(sa.func.count()).select_from(_records)).scalar_one()
            )
            withdrawn = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(_records).where(_records.c.withdrawn)
                ).scalar_one()
            )
            packages = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(
                        sa.select(_affected.c.ecosystem, _affected.c.package).distinct().subquery()
                    )
                ).scalar_one()
            )
            ecosystems = {
                str(eco): int(n)
                for eco, n in conn.execute(
                    sa.select(
                        _affected.c.ecosystem, sa.func.count(sa.distinct(_affected.c.record_id))
                    )
                    .group_by(_affected.c.ecosystem)
                    .order_by(_affected.c.ecosystem)
                )
            }
            info = {str(k): str(v) for k, v in conn.execute(sa.select(_info.c.key, _info.c.value))}
        return DbInfo(
            path=self.path,
            records=records,
            withdrawn=withdrawn,
            packages=packages,
            ecosystems=ecosystems,
            imported_at=info.get("imported_at"),
            sources=json.loads(info.get("sources", "[]")),
        )

    # -- importing ------------------------------------------------------------------------------

    def import_path(
        self, source: Path, *, now: datetime, progress: Progress | None = None
    ) -> ImportReport:
        """Import a directory of JSON records, one JSON file, or an OSV ``all.zip``."""
        report = ImportReport(str(source))
        documents, total = _documents(source)
        known = self._known()
        batch: list[Record] = []
        with self.engine.begin() as conn:
            for done, (where, text, unreadable) in enumerate(documents, start=1):
                record, problem = _decode(text) if unreadable is None else (None, unreadable)
                if record is None:
                    report.warnings.append(f"{where}: skipped: {problem}")
                else:
                    report.read += 1
                    if self._is_new(record, known, report):
                        batch.append(record)
                if len(batch) >= _BATCH:
                    self._write(conn, batch, str(source))
                    batch = []
                if progress is not None:
                    progress(done, total)
            self._write(conn, batch, str(source))
            listed = json.loads(self.info_value(conn, "sources") or "[]")
            if str(source) not in listed:
                listed.append(str(source))
            for key, value in (
                ("imported_at", now.isoformat()),
                ("sources", json.dumps(listed[-20:])),
            ):
                conn.execute(sa.delete(_info).where(_info.c.key == key))
                conn.execute(sa.insert(_info).values(key=key, value=value))
        self._cache.clear()
        return report

    @staticmethod
    def _is_new(record: Record, known: dict[str, tuple[str, str]], report: ImportReport) -> bool:
        """Whether ``record`` should be written: new, more recent than the stored one, or as
        recent but different (a correction published without a new ``modified``)."""
        modified = record.modified.isoformat()
        body = _fingerprint(record.model_dump_json(exclude_none=True))
        before = known.get(record.id)
        if before is not None and before[0] > modified:
            report.older += 1
            return False
        if before is not None and before == (modified, body):
            report.unchanged += 1
            return False
        if before is None:
            report.added += 1
        else:
            report.updated += 1
        known[record.id] = (modified, body)
        return True

    @staticmethod
    def info_value(conn: sa.Connection, key: str) -> str | None:
        value = conn.execute(sa.select(_info.c.value).where(_info.c.key == key)).scalar()
        return None if value is None else str(value)

    def _known(self) -> dict[str, tuple[str, str]]:
        with self.engine.connect() as conn:
            return {
                str(i): (str(m), _fingerprint(str(b)))
                for i, m, b in conn.execute(
                    sa.select(_records.c.id, _records.c.modified, _records.c.body)
                )
            }

    def _write(self, conn: sa.Connection, batch: list[Record], source: str) -> None:
        if not batch:
            return
        ids = [r.id for r in batch]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(sa.delete(_affected).where(_affected.c.record_id.in_(chunk)))
            conn.execute(sa.delete(_records).where(_records.c.id.in_(chunk)))
        conn.execute(
            sa.insert(_records),
            [
                {
                    "id": r.id,
                    "modified": r.modified.isoformat(),
                    "withdrawn": r.withdrawn is not None,
                    "source": source,
                    "body": r.model_dump_json(exclude_none=True),
                }
                for r in batch
            ],
        )
        rows = []
        for record in batch:
            seen = set()
            for entry in record.affected:
                if entry.package is None:
                    continue
                key = (
                    entry.package.ecosystem.split(":", 1)[0],
                    normalize_name(entry.package.ecosystem, entry.package.name),
                )
                if key not in seen:
                    seen.add(key)
                    rows.append({"ecosystem": key[0], "package": key[1], "record_id": record.id})
        if rows:
            conn.execute(sa.insert(_affected), rows)

    # -- syncing --------------------------------------------------------------------------------

    def sync(
        self,
        ecosystem: str,
        *,
        base_url: str,
        now: datetime,
        download: Callable[[int, int | None], None] | None = None,
        progress: Progress | None = None,
        timeout: float = 60.0,
    ) -> ImportReport:
        """Download ``<base_url>/<ecosystem>/all.zip`` and import it."""
        import httpx

        url = f"{base_url.rstrip('/')}/{ecosystem}/all.zip"
        handle, name = tempfile.mkstemp(suffix=".zip", dir=self.path.parent)
        temp = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as reply:
                        if reply.status_code != 200:
                            raise VulnDBError(
                                f"{url} answered {reply.status_code}",
                                hint=f"is {ecosystem!r} an OSV ecosystem (PyPI, npm, Go, …)?",
                            )
                        size = reply.headers.get("content-length")
                        total = int(size) if size and size.isdigit() else None
                        got = 0
                        for chunk in reply.iter_bytes(1 << 16):
                            out.write(chunk)
                            got += len(chunk)
                            if download is not None:
                                download(got, total)
                except httpx.TransportError as exc:
                    raise VulnDBError(
                        f"cannot download {url}: {type(exc).__name__} ({exc})",
                        hint="no network? fetch <ecosystem>/all.zip elsewhere and run "
                        "`roost vulndb import all.zip`, or set ROOST_OSV_URL to a mirror",
                    ) from None
            report = self.import_path(temp, now=now, progress=progress)
            report.source = url
            return report
        finally:
            temp.unlink(missing_ok=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> VulnDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VulnDB({str(self.path)!r})"


def open_vulndb(root: Path, *, path: Path | None = None) -> VulnDB:
    """The database of the project at ``root`` (``.roost/vulndb/osv.sqlite``) or at ``path``."""
    target = path if path is not None else root / VULNDB_DIR / DB_FILE
    if target.is_dir():
        target = target / DB_FILE
    try:
        return VulnDB(target)
    except sa.exc.DatabaseError as exc:
        raise VulnDBError(
            f"{target} is not a roost vulnerability database ({exc.orig})",
            hint="remove it and import again",
        ) from None


def _fingerprint(body: str) -> str:
    # Bodies are stored as the model's own JSON dump, so equal records give equal text.
    return hashlib.sha256(body.encode()).hexdigest()


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise VulnDBError(
            f"{path} is not a readable zip file: {exc}", hint="download it again"
        ) from None


def _documents(source: Path) -> tuple[Iterator[Document], int]:
    if source.is_dir():
        files = sorted(source.rglob("*.json"))
        return _files(files), len(files)
    if source.is_file() and zipfile.is_zipfile(source):
        zipped = _open_zip(source)
        members = [m for m in zipped.infolist() if m.filename.endswith(".json")]
        return _members(zipped, members, source), len(members)
    if source.is_file() and source.suffix == ".zip":
        raise VulnDBError(
            f"{source} is not a readable zip file (corrupt or truncated)",
            hint="download it again",
        )
    if source.is_file():
        return _files([source]), 1
    raise VulnDBError(
        f"{source} does not exist", hint="pass a folder of OSV JSON files or an OSV all.zip"
    )


def _decode(text: str) -> tuple[Record | None, str | None]:
    try:
        return parse_record(json.loads(text)), None
    except (ValueError, MalformedRecord) as exc:
        return None, (str(exc).splitlines() or ["empty"])[0]


Document = tuple[str, str, str | None]
"""(where, text, problem): a problem means the text could not even be read."""


def _files(files: list[Path]) -> Iterator[Document]:
    for path in files:
        where = str(path)
        try:
            yield where, path.read_text(encoding="utf-8"), None
        except (OSError, UnicodeDecodeError) as exc:
            yield where, "", f"cannot read: {exc}"


def _members(
    zipped: zipfile.ZipFile, members: list[zipfile.ZipInfo], source: Path
) -> Iterator[Document]:
    with zipped:
        for member in members:
            where = f"{source.name}:{member.filename}"
            try:
                data = zipped.read(member)
                yield where, data.decode("utf-8"), None
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, UnicodeDecodeError) as exc:
                # A damaged member (bad CRC, truncated data) costs that record, not the import.
                yield where, "", f"corrupt zip member ({exc})"
