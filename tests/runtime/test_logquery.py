import json
import os
import pickle
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from roost.runtime.logquery import (
    LogQueryError,
    LogQueryRefused,
    LogQueryTooCostly,
    _unpickle,
    query_logs,
)


def _write(path: Path, *records: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def _record(revision: str, replica: int, line: str, second: int = 0) -> dict[str, object]:
    return {
        "time": datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC).isoformat(),
        "service": "web",
        "revision": revision,
        "replica": replica,
        "stream": "stdout",
        "line": line,
    }


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    _write(logs / "web" / "r1" / "replica-0.jsonl", _record("r1", 0, "ERROR boom", 1))
    _write(logs / "web" / "r1" / "replica-0.jsonl.1", _record("r1", 0, "ERROR older", 0))
    _write(logs / "web" / "r1" / "replica-1.jsonl", _record("r1", 1, "fine", 2))
    _write(
        logs / "web" / "r2" / "replica-0.jsonl",
        _record("r2", 0, "ERROR new code", 3),
        _record("r2", 0, "fine", 4),
    )
    # A replica printing while we query leaves half a line: skipped, not an error.
    with (logs / "web" / "r2" / "replica-0.jsonl").open("a") as f:
        f.write('{"time": "2026-01-01T00:00:05+00:00", "serv')
    return logs


def test_sql_over_all_log_files_including_rotated_ones(log_dir: Path) -> None:
    result = query_logs(
        log_dir,
        "SELECT revision, count(*) AS errors FROM logs WHERE line LIKE '%ERROR%' "
        "GROUP BY 1 ORDER BY 1",
    )
    assert result.columns == ["revision", "errors"]
    assert result.rows == [("r1", 2), ("r2", 1)]


def test_columns_are_typed(log_dir: Path) -> None:
    result = query_logs(log_dir, "SELECT max(time), sum(replica) FROM logs")
    latest, replicas = result.rows[0]
    assert latest == datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC)
    assert replicas == 1


def test_bad_sql_is_a_clear_error(log_dir: Path) -> None:
    with pytest.raises(LogQueryError, match="syntax error") as caught:
        query_logs(log_dir, "SELEC revision FROM logs")
    assert caught.value.__cause__ is None
    with pytest.raises(LogQueryError, match='"nope" not found'):
        query_logs(log_dir, "SELECT nope FROM logs")


def test_no_logs_yet_is_an_empty_table(tmp_path: Path) -> None:
    result = query_logs(tmp_path / "missing", "SELECT count(*) FROM logs")
    assert result.rows == [(0,)]


def test_a_directory_with_a_quote_in_its_name(tmp_path: Path) -> None:
    logs = tmp_path / "it's logs"
    _write(logs / "web" / "r1" / "replica-0.jsonl", _record("r1", 0, "hi"))
    assert query_logs(logs, "SELECT line FROM logs").rows == [("hi",)]


# --- What an API caller must not be able to do with a log query (issue 13, item 2). ---


def test_reading_a_file_is_refused(log_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "state.json"
    secret.write_text('{"token": "s3cret-value"}\n')
    secret.chmod(0o600)
    for sql in (
        f"SELECT * FROM read_text('{secret}')",
        f"SELECT * FROM read_csv('{secret}')",
        f"SELECT * FROM read_json_auto('{secret}')",
        f"SELECT * FROM read_blob('{secret}')",
        "SELECT * FROM glob('/etc/*')",
    ):
        with pytest.raises(LogQueryRefused, match="file system operations are disabled") as caught:
            query_logs(log_dir, sql)
        assert "s3cret" not in str(caught.value)
        assert caught.value.status == 403


def test_copy_and_other_statements_are_refused_and_write_nothing(
    log_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "written.csv"
    attached = tmp_path / "other.db"
    refused = {
        f"COPY (SELECT * FROM logs) TO '{target}'": "not COPY",
        f"ATTACH '{attached}' AS other": "not ATTACH",
        "INSTALL httpfs": "not LOAD",
        "LOAD httpfs": "not LOAD",
        "SET enable_external_access = true": "not SET",
        "PRAGMA enable_profiling": "not",
        f"EXPORT DATABASE '{tmp_path / 'export'}'": "not EXPORT",
        "CREATE TABLE t AS SELECT 1": "not CREATE",
        f"SELECT 1; COPY (SELECT 1) TO '{target}'": "exactly one SELECT",
    }
    for sql, message in refused.items():
        with pytest.raises(LogQueryRefused, match=message):
            query_logs(log_dir, sql)
    assert not target.exists()
    assert not attached.exists()
    assert not (tmp_path / "export").exists()


def test_the_configuration_is_locked_and_only_logs_is_visible(log_dir: Path) -> None:
    settings = query_logs(
        log_dir,
        "SELECT name, value FROM duckdb_settings() "
        "WHERE name IN ('enable_external_access', 'lock_configuration', 'threads') ORDER BY 1",
    )
    assert settings.rows == [
        ("enable_external_access", "false"),
        ("lock_configuration", "true"),
        ("threads", "1"),
    ]
    tables = query_logs(log_dir, "SELECT table_name FROM information_schema.tables")
    assert tables.rows == [("logs",)]


def test_a_slow_query_is_stopped_at_the_time_limit(log_dir: Path) -> None:
    with pytest.raises(LogQueryTooCostly, match="longer than the 1 s limit") as caught:
        query_logs(log_dir, "SELECT sum(i * i) FROM range(3000000000) t(i)", timeout=1)
    assert caught.value.status == 422
    # The next query runs normally.
    assert query_logs(log_dir, "SELECT count(*) FROM logs").rows == [(5,)]


def test_a_query_past_the_memory_limit_fails_clearly(log_dir: Path) -> None:
    with pytest.raises(LogQueryTooCostly, match="more than the 64MB memory limit"):
        query_logs(log_dir, "SELECT list(i) FROM range(100000000) t(i)", memory_limit="64MB")


def test_many_rows_are_cut_at_the_cap(log_dir: Path) -> None:
    result = query_logs(log_dir, "SELECT i FROM range(10) t(i) ORDER BY i", max_rows=3)
    assert result.rows == [(0,), (1,), (2,)]
    assert result.truncated
    assert not query_logs(log_dir, "SELECT 1").truncated


def test_result_values_of_every_common_type_come_back(log_dir: Path) -> None:
    (row,) = query_logs(
        log_dir,
        "SELECT INTERVAL 1 DAY, 1.5::DECIMAL(4, 2), [1, 2], {'a': 1}, 'x'::BLOB, "
        "DATE '2026-01-01', date_trunc('hour', max(time)) FROM logs",
    ).rows
    assert row[:6] == (timedelta(days=1), Decimal("1.50"), [1, 2], {"a": 1}, b"x", date(2026, 1, 1))
    assert row[6] == datetime(2026, 1, 1, tzinfo=UTC)


def test_the_parent_unpickles_only_plain_values() -> None:
    evil = pickle.dumps({"columns": [], "rows": [(os.system,)], "truncated": False})
    with pytest.raises(pickle.UnpicklingError, match=r"posix\.system"):
        _unpickle(evil)
