"""Fixtures shared by every test package: a real PostgreSQL server (see tests/_postgres.py),
and a key directory of the test run's own."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests._postgres import PostgresServer, PostgresUnavailable, ensure_binaries, start_postgres

# pytest-xdist workers start with COLUMNS=80 in their environment, and a Rich console created
# while COLUMNS is set keeps that width for good. roost's consoles are created when roost.cli is
# first imported (collecting the tests); without COLUMNS they follow each command's own
# environment, as the in-process CLI tests expect (they pass COLUMNS=200).
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

_install_error: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Runtimes keep the key of their sealed secrets outside the project (by default in the
    # user's ~/.local/state): tests, and the roost processes they start, keep theirs here.
    before = os.environ.get("ROOST_KEY_DIR")
    os.environ["ROOST_KEY_DIR"] = str(tmp_path_factory.mktemp("keys"))
    yield
    if before is None:
        os.environ.pop("ROOST_KEY_DIR", None)
    else:
        os.environ["ROOST_KEY_DIR"] = before


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
