"""Choosing the backend from the environment."""

from __future__ import annotations

import pytest
from tests._etcd import EtcdServer

from roost.leases import BackendConfigError, SqlLeaseBackend, backend_kind, new_identity
from roost.leases.configuring import open_backend
from roost.store import Store


def test_sql_is_the_default(store: Store) -> None:
    backend = open_backend(store, environ={})
    assert isinstance(backend, SqlLeaseBackend)
    assert backend.store is store
    assert backend_kind({"ROOST_LEASE_BACKEND": " SQL "}) == "sql"


def test_etcd_needs_a_url(store: Store, etcd_server: EtcdServer) -> None:
    with pytest.raises(BackendConfigError, match="needs ROOST_ETCD_URL") as caught:
        open_backend(store, environ={"ROOST_LEASE_BACKEND": "etcd"})
    assert "http://host:2379" in caught.value.hint
    backend = open_backend(
        store,
        environ={
            "ROOST_LEASE_BACKEND": "etcd",
            "ROOST_ETCD_URL": etcd_server.url,
            "ROOST_ETCD_PREFIX": "/cfg-test/",
        },
    )
    try:
        assert backend.kind == "etcd"
        assert "/cfg-test/" in repr(backend)
    finally:
        backend.close()


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(BackendConfigError, match="'zookeeper' is not a lease backend") as caught:
        backend_kind({"ROOST_LEASE_BACKEND": "zookeeper"})
    assert "ROOST_ETCD_URL" in caught.value.hint


def test_identities_are_unique_per_process_and_instance() -> None:
    first, second = new_identity("serve"), new_identity("serve")
    assert first.startswith("serve@")
    assert first != second
