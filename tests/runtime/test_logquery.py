import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.runtime.logquery import LogQueryError, query_logs


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
