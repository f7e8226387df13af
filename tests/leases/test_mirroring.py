"""A lease held in etcd fences writes to the store once its tenure is adopted there."""

from __future__ import annotations

import pytest
from tests._etcd import EtcdServer

from roost.leases import Lease, adopt_tenure, release_tenure
from roost.leases.etcd import EtcdLeaseBackend
from roost.store import StaleFencingToken, Store


def test_etcd_tenures_fence_store_writes(
    store: Store, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    etcd = EtcdLeaseBackend(etcd_server.url, prefix=etcd_prefix)
    try:
        a = etcd.acquire("leader", "a", duration_seconds=5)
        assert a is not None
        adopt_tenure(store, a)
        store.events.append("write", source="/t", fence=a.fence())

        b = etcd.acquire("leader", "b", duration_seconds=5, expected_version=a.version)
        assert b is not None
        # Until b registers, a's writes still pass: they are ordered before b's tenure here.
        store.events.append("write", source="/t", fence=a.fence())
        adopt_tenure(store, b)
        with pytest.raises(StaleFencingToken, match="held by 'b'"):
            store.events.append("stale", source="/t", fence=a.fence())
        with pytest.raises(StaleFencingToken):  # a cannot register its old tenure again
            adopt_tenure(store, a)
        store.events.append("write", source="/t", fence=b.fence())
        release_tenure(store, "leader", "b")
        release_tenure(store, "leader", "b")  # idempotent
        release_tenure(store, "leader", "a")  # not a's any more: nothing happens
        with pytest.raises(StaleFencingToken, match="released"):
            store.events.append("late", source="/t", fence=b.fence())
        assert [e.type for e in store.events.list()] == ["write"] * 3
    finally:
        etcd.close()


def test_only_held_leases_can_be_adopted(store: Store) -> None:
    free = Lease("leader", None, 5.0, store.clock.now(), store.clock.now(), 0, 3, "7")
    with pytest.raises(ValueError, match="not held"):
        adopt_tenure(store, free)
