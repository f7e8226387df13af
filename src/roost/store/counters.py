"""Monotonic counters kept in the ``counters`` table.

``next_value`` is one atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``), so on
PostgreSQL concurrent callers queue on the counter's row lock and each gets a distinct value;
if the surrounding transaction rolls back, so does the increment.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from roost.store.connecting import upsert_insert
from roost.store.tables import counters

RELEASE_SEQ = "release"
LEASE_TOKEN = "lease"  # noqa: S105 - a counter scope, not a secret


def next_value(conn: Connection, scope: str, key: str) -> int:
    """Increment the counter ``(scope, key)`` (starting at 1) and return its new value."""
    statement = (
        upsert_insert(conn, counters)
        .values(scope=scope, key=key, value=1)
        .on_conflict_do_update(
            index_elements=[counters.c.scope, counters.c.key],
            set_={"value": counters.c.value + 1},
        )
        .returning(counters.c.value)
    )
    value = conn.execute(statement).scalar_one()
    return int(value)
