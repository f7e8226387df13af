"""The log-query worker: one short-lived process that runs one SQL query over the logs.

Why a process of its own: the query text comes from whoever may call the API, and DuckDB runs it
in C++ without releasing control until it is done. In a separate process it cannot stall the
agent's event loop (the router's), and on a time limit the parent can kill it outright, which
works even where DuckDB's own interrupt is not checked. Started by :mod:`roost.runtime.logquery`
as ``python -I _logworker.py`` (standard library and ``duckdb`` only, no roost import), it reads
its job as JSON on stdin and writes one pickled answer on stdout.

What the query can touch, in order:

1. Only a single ``SELECT`` is accepted (checked on DuckDB's own parse, before any data is
   read): ``COPY``, ``ATTACH``, ``INSTALL``, ``LOAD``, ``SET``, ``PRAGMA``, ``CREATE``, ``EXPORT``
   and several statements separated by ``;`` are refused.
2. The log files are loaded into an in-memory table ``logs`` *before* the query runs, while the
   worker still may read files. A view would not do: DuckDB checks file access when the view is
   read, so it would fail once external access is off — or need the log directory allowed, which
   would let the query write there too.
3. Then external access is switched off (no file, network, extension or environment access:
   ``read_text``, ``read_csv``, ``glob``, ``COPY … TO`` all fail) and the configuration locked,
   so the query cannot switch it back on or lift the memory and thread limits.
4. A timer interrupts the query at the time limit; a watchdog ends the process shortly after, in
   case the parent is gone and nobody would kill it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

_COLUMNS = (
    "{'time': 'TIMESTAMPTZ', 'service': 'VARCHAR', 'revision': 'VARCHAR', "
    "'replica': 'INTEGER', 'stream': 'VARCHAR', 'line': 'VARCHAR'}"
)
_EMPTY = (
    "SELECT NULL::TIMESTAMPTZ AS time, NULL::VARCHAR AS service, NULL::VARCHAR AS revision, "
    "NULL::INTEGER AS replica, NULL::VARCHAR AS stream, NULL::VARCHAR AS line WHERE false"
)
# Seconds the watchdog grants past the time limit before it ends the process itself.
_WATCHDOG_GRACE = 5.0


def _refusal(kind: str, message: str) -> dict[str, Any]:
    return {"error": message, "kind": kind}


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Answer one job: ``{"log_dirs", "sql", "timeout", "memory_limit", "threads", "max_rows"}``."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": int(job["threads"]),
        "memory_limit": str(job["memory_limit"]),
        # No spilling to disk: a query that needs more memory than the limit fails instead.
        "temp_directory": "",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
    }
    with duckdb.connect(":memory:", config=config) as con:
        con.execute("SET TimeZone = 'UTC'")
        refused = _refuse_all_but_one_select(con, job["sql"])
        if refused is not None:
            return refused
        timer = threading.Timer(float(job["timeout"]), con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            return _execute(con, job)
        except duckdb.InterruptException:
            return _refusal("timeout", "stopped at the time limit")
        except duckdb.PermissionException as exc:
            return _refusal("refused", str(exc).strip())
        except duckdb.OutOfMemoryException as exc:
            return _refusal("memory", str(exc).strip())
        except duckdb.Error as exc:
            return _refusal("sql", str(exc).strip())
        finally:
            timer.cancel()


def _refuse_all_but_one_select(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any] | None:
    """A refusal unless ``sql`` is exactly one ``SELECT``, judged on DuckDB's own parse."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        return _refusal("sql", str(exc).strip())
    if len(statements) != 1:
        return _refusal("refused", "a log query is exactly one SELECT statement")
    if statements[0].type != duckdb.StatementType.SELECT:
        name = statements[0].type.name
        return _refusal("refused", f"log queries are read-only: only SELECT is allowed, not {name}")
    return None


def _execute(con: duckdb.DuckDBPyConnection, job: dict[str, Any]) -> dict[str, Any]:
    _load(con, [Path(d) for d in job["log_dirs"]])
    # From here on the query's own turn: no files, no settings (see the module docstring).
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    cursor = con.execute(job["sql"])
    columns = [item[0] for item in cursor.description or []]
    max_rows = int(job["max_rows"])
    rows = cursor.fetchmany(max_rows + 1) if cursor.description else []
    return {
        "columns": columns,
        "rows": [tuple(_plain(value) for value in row) for row in rows[:max_rows]],
        "truncated": len(rows) > max_rows,
    }


def _plain(value: Any) -> Any:
    """``value`` with aware datetimes in ``datetime.UTC`` (DuckDB hands out ``ZoneInfo("UTC")``,
    which pickles through ``getattr``: the parent's unpickler accepts only plain value types)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, list | tuple):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _load(con: duckdb.DuckDBPyConnection, log_dirs: list[Path]) -> None:
    used = [d for d in log_dirs if any(d.glob("**/*.jsonl*"))]
    if used:
        patterns = ", ".join(_sql_string(str(d / "**" / "*.jsonl*")) for d in used)
        # The only interpolated values are the directories, quoted as SQL string literals.
        source = (
            f"SELECT * FROM read_json([{patterns}], format = 'newline_delimited', "  # noqa: S608
            f"columns = {_COLUMNS}, ignore_errors = true) "
            # A half-written last line (a replica printing right now) reads as all NULLs.
            "WHERE time IS NOT NULL"
        )
    else:
        # DuckDB refuses a glob that matches nothing; an empty log is not an error.
        source = _EMPTY
    con.execute(f"CREATE TABLE logs AS {source}")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def main() -> None:
    job = json.loads(sys.stdin.read())
    watchdog = threading.Timer(float(job["timeout"]) + _WATCHDOG_GRACE, os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()
    try:
        answer = run(job)
    except Exception as exc:
        answer = _refusal("crash", f"{type(exc).__name__}: {exc}")
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
