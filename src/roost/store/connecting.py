"""One database: its engine, its transactions and the translation of driver errors.

Reads and writes go through :meth:`Database.reading` and :meth:`Database.writing`, each one
transaction on one pooled connection.

SQLite: Python's ``sqlite3`` module by default does not emit ``BEGIN`` before ``SELECT`` or DDL,
which breaks transactional migrations and repeatable reads. We take transaction control away
from it (``isolation_level = None``) and emit ``BEGIN`` ourselves, as SQLAlchemy's SQLite docs
recommend. Writes emit ``BEGIN IMMEDIATE``: the write lock is taken up front, so two writers
queue on ``busy_timeout`` instead of both reading, then one failing to upgrade its read lock
with ``SQLITE_BUSY`` (which the busy handler cannot resolve) halfway through. WAL lets readers
proceed while one writer writes.

PostgreSQL: plain READ COMMITTED transactions; the repositories lock the rows they decide on
(``SELECT … FOR UPDATE``/``FOR SHARE``) or use atomic upserts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from roost.store.errors import (
    BadDatabaseURL,
    Conflict,
    DatabaseBusy,
    DatabaseUnreachable,
    StoreError,
)
from roost.store.urls import Dialect, dialect_of, redact

BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10
_WRITE_OPTION = "roost_write"


class Database:
    """An engine plus the transaction helpers every repository uses."""

    def __init__(self, url: URL, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.redacted_url = redact(url)
        self.dialect: Dialect = dialect_of(url)
        self._closed = False
        if self.dialect == "sqlite":
            self._prepare_sqlite_directory()
        try:
            self.engine = (
                _sqlite_engine(url, busy_timeout)
                if self.dialect == "sqlite"
                else _postgres_engine(url)
            )
        except ImportError as exc:
            raise StoreError(
                f"cannot open {self.redacted_url}: the database driver is not installed ({exc})",
                hint="install roost with PostgreSQL support: pip install 'roost[postgres]'",
            ) from None
        except sa_exc.ArgumentError as exc:
            raise BadDatabaseURL(f"bad database URL {self.redacted_url}: {exc}") from None

    def _prepare_sqlite_directory(self) -> None:
        assert self.url.database is not None
        directory = Path(self.url.database).absolute().parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnreachable(
                f"cannot create the directory {directory} for {self.redacted_url}: "
                f"{exc.strerror or exc}",
                hint="check the path and its permissions, or set ROOST_DATABASE_URL",
            ) from None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.translating(), self._connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (SQLite: ``BEGIN IMMEDIATE``). Rolled back if the block raises."""
        with self.translating(), self._connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _connect(self) -> Connection:
        if self._closed:
            raise StoreError(f"the store for {self.redacted_url} is closed")
        return self.engine.connect()

    @contextmanager
    def translating(self) -> Iterator[None]:
        """Turn SQLAlchemy/driver exceptions into :class:`StoreError` subclasses."""
        try:
            yield
        except StoreError:
            raise
        except sa_exc.DBAPIError as exc:
            raise self._translate(exc) from exc
        except sa_exc.SQLAlchemyError as exc:
            raise StoreError(
                f"database error at {self.redacted_url}: {self._redact_reason(str(exc))}"
            ) from exc

    def _translate(self, exc: sa_exc.DBAPIError) -> StoreError:
        reason = self.short_reason(exc)
        where = self.redacted_url
        if isinstance(exc, sa_exc.IntegrityError):
            return Conflict(f"the write to {where} broke a uniqueness rule: {reason}")
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("40"):
            # serialization failure / deadlock: a concurrent transaction won.
            return Conflict(f"a concurrent write to {where} won: {reason}")
        lowered = reason.lower()
        if self.dialect == "sqlite" and ("locked" in lowered or "busy" in lowered):
            return DatabaseBusy(f"the database at {where} is locked by another writer: {reason}")
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or (
            exc.connection_invalidated
        ):
            return DatabaseUnreachable(f"cannot reach the database at {where}: {reason}")
        return StoreError(f"database error at {where}: {reason}")

    def short_reason(self, exc: sa_exc.DBAPIError) -> str:
        """The driver's message, first meaningful line only, password redacted."""
        text = str(exc.orig) if exc.orig is not None else str(exc)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return self._redact_reason(lines[0] if lines else type(exc.orig).__name__)

    def _redact_reason(self, text: str) -> str:
        password = self.url.password
        if password:
            text = text.replace(str(password), "***")
        return text

    def close(self) -> None:
        """Close every pooled connection. Idempotent."""
        if not self._closed:
            self._closed = True
            self.engine.dispose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"Database({self.redacted_url!r}, {state})"


def upsert_insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ``on_conflict_do_update``/``_nothing`` on this connection's
    dialect (both spell upserts the same way; SQLAlchemy's generic insert has neither)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _enable_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch a database file to WAL (a setting the file keeps). Switching needs the file to
    itself, and SQLite answers "database is locked" at once, without its busy handler, when
    several connections open a fresh file together: retry until ``busy_timeout``."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: URL, busy_timeout: float) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _enable_wal(cursor, busy_timeout)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if "application_name" not in url.query:
        connect_args["application_name"] = "roost"
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
