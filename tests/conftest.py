"""Fixtures shared by every test package: a real PostgreSQL server (see tests/_postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests._postgres import PostgresServer, PostgresUnavailable, ensure_binaries, start_postgres

_install_error: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    # Installing postgresql-15 can take minutes; do it here, before any test's 60 s timeout
    # starts, and only when a selected test needs PostgreSQL.
    if any(item.get_closest_marker("postgres") for item in session.items):
        try:
            ensure_binaries()
        except PostgresUnavailable as exc:
            _install_error.append(str(exc))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server on 127.0.0.1 for the whole session (fails, never skips)."""
    if _install_error:
        pytest.fail(_install_error[0], pytrace=False)
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL (``postgresql+psycopg://…``) of a fresh, empty database, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
