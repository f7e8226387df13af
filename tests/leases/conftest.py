"""The lease contract suite runs every test against each backend: SQLite and PostgreSQL
(through the store), a real etcd 3.4 started for the session, and the Kubernetes backend
against an in-process fake of the Lease API (no cluster can run here; see _k8s_fake.py).

A missing server FAILS the tests that need it, with the reason; nothing is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kubernetes import client as k8s
from tests._etcd import EtcdServer, EtcdUnavailable, start_etcd
from tests._postgres import PostgresServer
from tests.leases._k8s_fake import FakeLeaseApi

from roost.clock import VirtualClock
from roost.leases import LeaseBackend, SqlLeaseBackend
from roost.leases.etcd import EtcdLeaseBackend
from roost.leases.kubernetes import KubernetesLeaseBackend
from roost.store import Store, open_store
from roost.store.tables import metadata

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    "etcd",
    "kubernetes",
]


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[EtcdServer]:
    """A real etcd member for the whole session (fails, never skips, when etcd is missing)."""
    try:
        server = start_etcd()
    except EtcdUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def etcd_prefix() -> str:
    """A key prefix of its own per test, so tests never see each other's leases."""
    return f"/roost-test/{uuid.uuid4().hex[:12]}/"


@pytest.fixture(scope="session")
def postgres_lease_url(postgres_server: PostgresServer) -> str:
    """One database for the session, migrated once; emptied before each test that uses it."""
    url = postgres_server.url(postgres_server.create_database("roost_lease_contract"))
    open_store(url).close()
    return url


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def _empty_postgres(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def store(tmp_path: Path, clock: VirtualClock) -> Iterator[Store]:
    """A fresh SQLite store on the virtual clock."""
    with open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock) as opened:
        yield opened


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(
    backend_kind: str, request: pytest.FixtureRequest, tmp_path: Path, clock: VirtualClock
) -> Iterator[LeaseBackend]:
    """A lease backend of each kind, empty, writing timestamps from the virtual clock."""
    if backend_kind in ("sqlite", "postgres"):
        url = (
            f"sqlite:///{tmp_path / 'state.db'}"
            if backend_kind == "sqlite"
            else _empty_postgres(str(request.getfixturevalue("postgres_lease_url")))
        )
        with open_store(url, clock=clock) as opened:
            yield SqlLeaseBackend(opened)
    elif backend_kind == "etcd":
        server: EtcdServer = request.getfixturevalue("etcd_server")
        prefix: str = request.getfixturevalue("etcd_prefix")
        etcd = EtcdLeaseBackend(server.url, prefix=prefix, clock=clock)
        try:
            yield etcd
        finally:
            etcd.close()
    else:
        api: FakeLeaseApi = request.getfixturevalue("k8s_api")
        # The fake API server is a thread of this test process: on a busy machine it can take
        # longer than the backend's default 5 s to answer five contenders at once.
        kube = KubernetesLeaseBackend(
            k8s_configuration(api), namespace="roost", clock=clock, timeout=30
        )
        try:
            yield kube
        finally:
            kube.close()
        assert api.invalid == [], "the backend wrote objects that fail schema validation"


@pytest.fixture
def k8s_api() -> Iterator[FakeLeaseApi]:
    with FakeLeaseApi() as api:
        yield api


def k8s_configuration(api: FakeLeaseApi) -> k8s.Configuration:
    configuration = k8s.Configuration()
    configuration.host = api.url
    configuration.retries = 0
    return configuration
