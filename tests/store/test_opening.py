from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests._postgres import PostgresServer
from tests.store._db import raw_connection

from roost.clock import VirtualClock
from roost.store import (
    BadDatabaseURL,
    DatabaseUnreachable,
    StoreError,
    head_revision,
    open_store,
)
from roost.store.urls import ENV_VAR, resolve_url


def test_default_is_sqlite_under_root_dot_roost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with open_store(root=tmp_path) as store:
        assert store.dialect == "sqlite"
        assert store.url == f"sqlite:///{tmp_path / '.roost' / 'state.db'}"
    assert (tmp_path / ".roost" / "state.db").is_file()


def test_explicit_url_beats_env_var_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{tmp_path / 'from-env.db'}")
    assert resolve_url(None, root=tmp_path).database == str(tmp_path / "from-env.db")
    explicit = f"sqlite:///{tmp_path / 'explicit.db'}"
    assert resolve_url(explicit, root=tmp_path).database == str(tmp_path / "explicit.db")
    with open_store(root=tmp_path) as store:
        assert store.url.endswith("from-env.db")
    monkeypatch.setenv(ENV_VAR, "")
    assert resolve_url(None, root=tmp_path).database == str(tmp_path / ".roost" / "state.db")


def test_sqlite_directories_are_created_on_demand(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.db"
    with open_store(f"sqlite:///{path}"):
        pass
    assert path.is_file()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with open_store(f"sqlite:///{path}") as store, store._db.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
    # journal_mode=WAL is persistent: a plain connection sees it too.
    with raw_connection(f"sqlite:///{path}") as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://u:pw@localhost/db", "'mysql'"),
        ("postgres://u@localhost/db", "'postgres'"),
        ("postgresql://u@localhost/db", "'postgresql'"),
        ("postgresql+psycopg2://u@localhost/db", "'postgresql+psycopg2'"),
        ("not a url", "cannot parse"),
        ("", "empty"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("postgresql+psycopg://u@localhost", "names no database"),
    ],
)
def test_bad_urls_are_refused_with_a_hint(url: str, fragment: str) -> None:
    with pytest.raises(BadDatabaseURL) as caught:
        open_store(url)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "postgresql+psycopg://" in caught.value.hint or "sqlite:///" in caught.value.hint


def test_bad_url_messages_redact_passwords() -> None:
    with pytest.raises(BadDatabaseURL) as caught:
        open_store("mysql://admin:hunter2@db.example/app")
    assert "hunter2" not in str(caught.value)
    assert "admin:***@db.example" in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_postgres_is_reported_with_the_password_redacted() -> None:
    url = f"postgresql+psycopg://roost:s3cr3t-pw@127.0.0.1:{_closed_port()}/roost"
    with pytest.raises(DatabaseUnreachable) as caught:
        open_store(url)
    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "roost:***@127.0.0.1" in message
    assert "refused" in message.lower()
    assert "\n" not in message
    assert caught.value.hint
    assert caught.value.__cause__ is not None  # the driver error stays attached for debugging


@pytest.mark.postgres
def test_missing_postgres_database_is_unreachable(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("no_such_database").replace("roost@", "roost:pw@")
    with pytest.raises(DatabaseUnreachable) as caught:
        open_store(url)
    assert "no_such_database" in str(caught.value)
    assert "does not exist" in str(caught.value)
    assert ":pw@" not in str(caught.value)


def test_unopenable_sqlite_file_is_a_store_error(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    with pytest.raises(DatabaseUnreachable, match="unable to open"):
        open_store(f"sqlite:///{directory}")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a database"):
        open_store(f"sqlite:///{garbage}")


def test_store_shows_its_url_and_dialect(store_url: str, backend: str) -> None:
    with open_store(store_url, clock=VirtualClock()) as store:
        assert store.dialect == ("sqlite" if backend == "sqlite" else "postgresql")
        assert store.schema_revision == head_revision()
        assert store.url in repr(store)


def test_closed_store_refuses_work(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.releases.list()
