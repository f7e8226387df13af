"""Fencing store writes with a token from etcd or Kubernetes.

The store refuses a fenced write unless its own ``leases`` row for the fence's name has that
token. With the SQL lease backend that row *is* the lease. With etcd or Kubernetes the lease
lives elsewhere, so a new leader first registers its tenure with the store
(``store.leases.adopt``), which accepts only a token higher than the one it has. From then on
the store refuses the previous leader's fence, exactly as if the lease lived in the store.

The ordering argument: adopting is a write to the store, so every write of the previous leader
is ordered either before it (legitimate: it happened while the store still knew that leader)
or after it (refused). The new leader adopts before its first write and reads state after
adopting, so it never acts on a state that a stale write could change afterwards.
"""

from __future__ import annotations

import contextlib

from roost.leases.records import Lease
from roost.store import Conflict, NotFound, Store


def adopt_tenure(store: Store, lease: Lease) -> None:
    """Register ``lease``'s tenure with ``store`` so writes fenced with ``lease.fence()`` pass.

    Raises :class:`roost.store.StaleFencingToken` if the store already knows a newer tenure
    (then this holder must not lead), or a store error if the database is unreachable.
    """
    if lease.holder is None:
        raise ValueError(f"lease {lease.name!r} is not held: there is no tenure to adopt")
    store.leases.adopt(
        lease.name,
        lease.holder,
        fencing_token=lease.fencing_token,
        duration_seconds=lease.duration_seconds,
    )


def release_tenure(store: Store, name: str, holder: str) -> None:
    """Mark ``holder``'s mirrored tenure released, so its fence stops passing at once (a no-op
    if a newer tenure was adopted meanwhile or the row is gone)."""
    with contextlib.suppress(Conflict, NotFound):
        store.leases.release(name, holder)
