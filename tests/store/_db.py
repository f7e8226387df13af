"""Raw database access for tests that must look under (or go around) the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@contextmanager
def raw_connection(url: str) -> Iterator[Connection]:
    """A plain SQLAlchemy connection (in a transaction) that bypasses the store."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def count_rows(url: str, table: str) -> int:
    with raw_connection(url) as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
