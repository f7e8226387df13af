"""SQL over the replicas' logs, with DuckDB.

The JSON Lines files under a log directory (rotated ones included) are exposed as a view named
``logs`` with typed columns — ``time TIMESTAMPTZ, service, revision, replica INTEGER, stream,
line`` — so a question about logs is one query::

    SELECT revision, count(*) FROM logs WHERE line LIKE '%ERROR%' GROUP BY 1

The view reads the files at query time; nothing is copied or indexed. A partially written last
line (a replica printing while the query runs) is skipped, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

_COLUMNS = (
    "{'time': 'TIMESTAMPTZ', 'service': 'VARCHAR', 'revision': 'VARCHAR', "
    "'replica': 'INTEGER', 'stream': 'VARCHAR', 'line': 'VARCHAR'}"
)
_EMPTY = (
    "SELECT NULL::TIMESTAMPTZ AS time, NULL::VARCHAR AS service, NULL::VARCHAR AS revision, "
    "NULL::INTEGER AS replica, NULL::VARCHAR AS stream, NULL::VARCHAR AS line WHERE false"
)


class LogQueryError(Exception):
    """The query could not run; the message is DuckDB's, without a traceback."""


class LogQueryResult(NamedTuple):
    """Column names and rows of a query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def query_logs(log_dir: Path | Sequence[Path], sql: str) -> LogQueryResult:
    """Run ``sql`` against the view ``logs`` over every log file under ``log_dir`` (or under
    each of several directories: an agent keeps one per environment).

    Times are in UTC. Raises :class:`LogQueryError` for SQL DuckDB rejects (syntax, unknown
    column, type errors), with DuckDB's message.
    """
    dirs = [Path(log_dir)] if isinstance(log_dir, str | Path) else [Path(d) for d in log_dir]
    used = [d for d in dirs if any(d.glob("**/*.jsonl*"))]
    with duckdb.connect(":memory:") as con:
        con.execute("SET TimeZone = 'UTC'")
        if used:
            patterns = ", ".join(_sql_string(str(d / "**" / "*.jsonl*")) for d in used)
            # The only interpolated values are the directories, quoted as SQL string literals.
            source = (
                f"SELECT * FROM read_json([{patterns}], format = 'newline_delimited', "  # noqa: S608
                f"columns = {_COLUMNS}, ignore_errors = true)"
            )
        else:
            # DuckDB refuses a glob that matches nothing; an empty log is not an error.
            source = _EMPTY
        con.execute(f"CREATE VIEW logs AS {source}")
        try:
            cursor = con.execute(sql)
            columns = [item[0] for item in cursor.description or []]
            rows = cursor.fetchall() if cursor.description else []
        except duckdb.Error as exc:
            raise LogQueryError(str(exc).strip()) from None
    return LogQueryResult(columns, rows)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
