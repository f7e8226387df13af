"""Fenced writes: a write that carries a :class:`Fence` happens only if, inside the same
transaction, the lease still has that fencing token and is still held.

On PostgreSQL the lease row is read ``FOR SHARE``: a concurrent change of holder (an ``UPDATE``
of that row) waits until the fenced write commits, and a fenced write that starts after the
change sees the new token. Fenced writes by the same holder do not block each other. On SQLite
every write transaction is ``BEGIN IMMEDIATE``, so nothing can interleave at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.store.errors import StaleFencingToken
from roost.store.records import Fence
from roost.store.tables import leases


def check_fence(conn: Connection, fence: Fence | None) -> None:
    """Raise :class:`StaleFencingToken` unless ``fence`` is current. ``None`` means unfenced."""
    if fence is None:
        return
    row = conn.execute(
        sa.select(leases.c.holder, leases.c.fencing_token)
        .where(leases.c.name == fence.lease_name)
        .with_for_update(read=True)
    ).first()
    refused = f"fenced write refused: token {fence.token} for lease {fence.lease_name!r}"
    if row is None:
        raise StaleFencingToken(f"{refused} is stale: the lease no longer exists")
    if row.holder is None:
        raise StaleFencingToken(f"{refused} is stale: the lease has been released")
    if row.fencing_token != fence.token:
        raise StaleFencingToken(
            f"{refused} is stale: the lease is now held by {row.holder!r} "
            f"with token {row.fencing_token}"
        )
