"""The store contract suite runs every test against SQLite and a real PostgreSQL.

``empty_store_url`` is a database nobody has opened yet (for migration tests); ``store_url`` is
one already at the newest schema with no rows (on PostgreSQL: one database migrated once per
session and truncated before each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._postgres import PostgresServer
from tests.store._db import raw_connection

from roost.clock import VirtualClock
from roost.store import Store, open_store
from roost.store.tables import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL for an empty, never-migrated database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def postgres_store_url(postgres_server: PostgresServer) -> str:
    """One database for the session, migrated once; ``store_url`` empties it per test."""
    url = postgres_server.url(postgres_server.create_database("roost_store_contract"))
    open_store(url).close()
    return url


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL for a database at the newest schema, with no rows."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        open_store(url).close()
        return url
    url = str(request.getfixturevalue("postgres_store_url"))
    # TRUNCATE is ~10x faster than creating a database per test (CREATE DATABASE checkpoints).
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with raw_connection(url) as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def store(store_url: str, clock: VirtualClock) -> Iterator[Store]:
    with open_store(store_url, clock=clock) as opened:
        yield opened
