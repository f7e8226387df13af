"""SQL over the replicas' logs, with DuckDB, read-only and bounded.

The JSON Lines files under a log directory (rotated ones included) are exposed as a table named
``logs`` with typed columns — ``time TIMESTAMPTZ, service, revision, replica INTEGER, stream,
line`` — so a question about logs is one query::

    SELECT revision, count(*) FROM logs WHERE line LIKE '%ERROR%' GROUP BY 1

The SQL may come from anyone who can call the API, so each query runs in a worker process of its
own (see ``_logworker.py`` for what it locks down): only one ``SELECT``; no file, network or
extension access (``read_text``, ``COPY``, ``ATTACH``, ``INSTALL`` fail); only ``logs`` to read;
a memory limit, one thread and a time limit, after which the worker is killed. The caller only
waits on a pipe, so an agent that calls this from a thread keeps serving traffic meanwhile.

A partially written last line (a replica printing while the query runs) is skipped, not an error.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

WORKER = Path(__file__).with_name("_logworker.py")
DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_LIMIT = "512MB"
DEFAULT_MAX_ROWS = 10_000
# Log queries at once per process; more wait (up to their time limit) rather than each starting
# a worker: a burst of queries must not take every core from the replicas.
MAX_CONCURRENT = 2
# Seconds past the time limit the worker gets to report its own interruption before it is killed.
_KILL_GRACE = 2.0
_HINT = "the table is `logs`: time, service, revision, replica, stream, line"

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


class LogQueryError(Exception):
    """The query could not run; the message says why, without a traceback. ``status`` is the
    HTTP status an API answers with."""

    status = 400

    def __init__(self, message: str, *, hint: str | None = _HINT) -> None:
        super().__init__(message)
        self.hint = hint


class LogQueryRefused(LogQueryError):
    """The query tried something other than reading ``logs`` (a file, ``COPY``, a setting)."""

    status = 403


class LogQueryTooCostly(LogQueryError):
    """The query hit the time or memory limit, or too many queries are running."""

    status = 422


class LogQueryResult(NamedTuple):
    """Column names and rows of a query; ``truncated`` when there were more than the cap."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False


def query_logs(
    log_dir: Path | Sequence[Path],
    sql: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> LogQueryResult:
    """Run ``sql`` against the table ``logs`` built from every log file under ``log_dir`` (or
    under each of several directories: an agent keeps one per environment).

    Times are in UTC. At most ``max_rows`` rows come back. Raises :class:`LogQueryError` for SQL
    DuckDB rejects (syntax, unknown column, type errors) with DuckDB's message,
    :class:`LogQueryRefused` for anything but reading ``logs``, :class:`LogQueryTooCostly` past
    ``timeout`` seconds or ``memory_limit``. Blocks the calling thread, never an event loop's
    other tasks if called through ``asyncio.to_thread``.
    """
    dirs = [Path(log_dir)] if isinstance(log_dir, str | Path) else [Path(d) for d in log_dir]
    if not _slots.acquire(timeout=timeout):
        raise LogQueryTooCostly(
            f"{MAX_CONCURRENT} log queries are already running", hint="try again in a moment"
        )
    try:
        answer = _run_worker(
            {
                "log_dirs": [str(d.absolute()) for d in dirs],
                "sql": sql,
                "timeout": timeout,
                "memory_limit": memory_limit,
                "threads": 1,
                "max_rows": max_rows,
            },
            timeout,
        )
    finally:
        _slots.release()
    if "error" in answer:
        raise _error(str(answer["kind"]), str(answer["error"]), timeout, memory_limit)
    return LogQueryResult(list(answer["columns"]), list(answer["rows"]), bool(answer["truncated"]))


def _run_worker(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, "-I", str(WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C at the terminal is the parent's to handle
    )
    try:
        out, err = process.communicate(json.dumps(job).encode(), timeout=timeout + _KILL_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"kind": "timeout", "error": "killed at the time limit"}
    except BaseException:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0 or not out:
        reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {
            "kind": "crash",
            "error": f"the log query worker failed (exit {process.returncode}): {reason[0]}",
        }
    try:
        answer = _unpickle(out)
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        return {"kind": "crash", "error": f"the log query worker answered garbage: {exc}"}
    if not isinstance(answer, dict):
        return {"kind": "crash", "error": "the log query worker answered garbage"}
    return answer


def _error(kind: str, message: str, timeout: float, memory_limit: str) -> LogQueryError:
    if kind == "refused":
        return LogQueryRefused(
            f"log query refused: {message}",
            hint="a log query reads only the table `logs` (time, service, revision, replica, "
            "stream, line); files, COPY, ATTACH, extensions and settings are off",
        )
    if kind == "timeout":
        return LogQueryTooCostly(
            f"the log query ran longer than the {timeout:g} s limit and was stopped",
            hint="narrow it: WHERE time > now() - INTERVAL 1 HOUR, a service, or LIMIT",
        )
    if kind == "memory":
        first_line = message.splitlines()[0] if message else "out of memory"
        return LogQueryTooCostly(
            f"the log query needed more than the {memory_limit} memory limit: {first_line}",
            hint="narrow it with WHERE or aggregate before selecting many rows",
        )
    return LogQueryError(message)


class _ResultUnpickler(pickle.Unpickler):
    """Only the value types a DuckDB result is made of. The worker is our own code, but the
    values it pickles come from a query anyone may send; refusing every other class means even a
    compromised worker cannot make the parent run code by unpickling."""

    _ALLOWED = frozenset(
        {
            ("datetime", "datetime"),
            ("datetime", "date"),
            ("datetime", "time"),
            ("datetime", "timedelta"),
            ("datetime", "timezone"),
            ("decimal", "Decimal"),
            ("uuid", "UUID"),
            ("uuid", "SafeUUID"),
            ("builtins", "set"),
            ("builtins", "frozenset"),
            ("builtins", "bytearray"),
            ("builtins", "complex"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a log query result may not contain {module}.{name}")


def _unpickle(data: bytes) -> Any:
    return _ResultUnpickler(io.BytesIO(data)).load()
