"""`roost serve`, `roost status`, `roost events` and `roost db info` as a user runs them:
real processes, real HTTP, real databases."""

from __future__ import annotations

import shutil
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest
from tests._auth import owner_headers
from tests._roost import EXAMPLE, roost, serving

from roost.store import head_revision


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / "roost.yaml")
    return tmp_path


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("roost: error: ")
    return lines[0]


def test_serve_answers_health_docs_and_api(project: Path) -> None:
    with serving(project) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        client.headers.update(owner_headers(project))
        assert served.url.startswith("http://127.0.0.1:")
        assert client.get("/healthz").json() == {"status": "ok", "version": "0.1.0"}
        assert client.get("/readyz").status_code == 200
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        paths = client.get("/openapi.json").json()["paths"]
        for path in ("/api/v1/status", "/api/v1/releases", "/api/v1/rollouts", "/api/v1/events"):
            assert path in paths
        status = client.get("/api/v1/status").json()
        assert status["project"] == "shop"
        assert status["database"]["dialect"] == "sqlite"
        assert [s["name"] for s in status["services"]] == ["web", "worker"]
        events = client.get("/api/v1/events", params={"type": "dev.roost.api"}).json()
        assert events[0]["type"] == "dev.roost.api.started"
        assert events[0]["specversion"] == "1.0"
        assert client.get("/api/v1/releases/nope").status_code == 404
        assert client.get("/api/v1/releases", params={"limit": 0}).status_code == 422
    assert (project / ".roost" / "state.db").exists()
    assert not (project / ".roost" / "api.json").exists(), "a stopped API must not be advertised"


def test_status_finds_the_running_api_and_prints_a_summary(project: Path) -> None:
    with serving(project):
        result = roost("status", "--project", str(project))
        assert result.returncode == 0, result.stderr
        assert "shop" in result.stdout
        assert "web" in result.stdout
        assert "worker" in result.stdout
        assert "sqlite" in result.stdout


def test_events_lists_the_audit_log_after_a_serve(project: Path) -> None:
    with serving(project):
        pass
    result = roost("events", "--project", str(project), "--json")
    assert result.returncode == 0, result.stderr
    types = [line.split('"type": "')[1].split('"')[0] for line in result.stdout.splitlines()]
    # Started, then this process won the election and led until it stopped (applying roost.yaml
    # when it began to lead, if it got that far before the stop).
    types = [t for t in types if t != "dev.roost.project.applied"]
    assert types[:3] == [
        "dev.roost.api.stopped",
        "dev.roost.control.leading",
        "dev.roost.api.started",
    ]


def test_port_in_use_is_one_line(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = roost("serve", "--project", str(project), "--port", str(port))
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert "--port" in line


def test_missing_roost_yaml_is_one_line(tmp_path: Path) -> None:
    result = roost("serve", "--project", str(tmp_path), "--port", "0")
    assert result.returncode == 2
    assert "no roost.yaml" in _one_error_line(result.stderr)


def test_invalid_roost_yaml_stops_serve_with_located_problems(project: Path) -> None:
    (project / "roost.yaml").write_text("project: shop\nversion: 1\nservises: []\n")
    result = roost("serve", "--project", str(project), "--port", "0")
    assert result.returncode == 2
    assert "roost.yaml:3:1:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root@127.0.0.1/roost", "mysql"),
        ("postgres://roost:hunter2@127.0.0.1/roost", "postgres"),
        ("not a url", "not a url"),
    ],
)
def test_bad_database_url_is_one_line(project: Path, url: str, expected: str) -> None:
    result = roost("serve", "--project", str(project), "--port", "0", "--database-url", url)
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert expected in line
    assert "hunter2" not in line


def test_unreachable_postgres_is_one_line_with_the_password_redacted(project: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before roost connects: nothing listens
    url = f"postgresql+psycopg://roost:hunter2@127.0.0.1:{port}/roost"
    result = roost("db", "info", "--project", str(project), env={"ROOST_DATABASE_URL": url})
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "hunter2" not in line
    assert f"127.0.0.1:{port}" in line


def test_a_database_from_a_newer_roost_is_refused(project: Path) -> None:
    assert roost("db", "info", "--project", str(project)).returncode == 0
    with sqlite3.connect(project / ".roost" / "state.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    db.close()
    result = roost("db", "info", "--project", str(project))
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "newer roost" in line
    assert "9999_from_the_future" in line


def test_status_without_a_running_api_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = roost("status", "--api", f"http://127.0.0.1:{port}", "--project", str(tmp_path))
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "cannot reach the roost API" in line
    assert "roost serve" in line


def test_db_info_migrates_and_reports(project: Path) -> None:
    result = roost("db", "info", "--project", str(project))
    assert result.returncode == 0, result.stderr
    assert "dialect:         sqlite" in result.stdout
    assert f"schema revision: {head_revision()}" in result.stdout


@pytest.mark.postgres
def test_serve_runs_on_a_real_postgresql(project: Path, postgres_url: str) -> None:
    with (
        serving(project, env={"ROOST_DATABASE_URL": postgres_url}) as served,
        httpx.Client(base_url=served.url, timeout=10) as client,
    ):
        client.headers.update(owner_headers(project))
        status = client.get("/api/v1/status").json()
        assert status["database"]["dialect"] == "postgresql"
        assert status["events"] >= 1
        assert client.get("/readyz").json()["status"] == "ok"
    assert not (project / ".roost" / "state.db").exists(), "PostgreSQL mode must not use SQLite"
