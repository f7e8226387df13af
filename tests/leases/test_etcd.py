"""What only the etcd backend does: TTLs that collect a dead holder's key, tokens that are
etcd revisions, and clear errors when etcd is not there."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from tests._etcd import EtcdServer

from roost.clock import VirtualClock
from roost.leases import BackendConfigError, BackendUnavailable
from roost.leases.etcd import EtcdLeaseBackend


@pytest.fixture
def etcd(etcd_server: EtcdServer, etcd_prefix: str) -> Iterator[EtcdLeaseBackend]:
    backend = EtcdLeaseBackend(etcd_server.url, prefix=etcd_prefix, clock=VirtualClock())
    yield backend
    backend.close()


def _raw(server: EtcdServer, key: str) -> dict[str, object] | None:
    encoded = base64.b64encode(key.encode()).decode()
    with requests.post(f"{server.url}/v3/kv/range", json={"key": encoded}, timeout=5) as answer:
        kvs = answer.json().get("kvs", [])
    return kvs[0] if kvs else None


def test_the_token_is_the_revision_of_the_change_of_holder(
    etcd: EtcdLeaseBackend, etcd_server: EtcdServer
) -> None:
    lease = etcd.acquire("leader", "a", duration_seconds=5)
    assert lease is not None
    assert lease.fencing_token == int(lease.version)  # the write that made "a" the holder
    renewed = etcd.renew("leader", "a")
    assert int(renewed.version) > lease.fencing_token  # mod_revision moved on...
    assert renewed.fencing_token == lease.fencing_token  # ...the token did not
    raw = _raw(etcd_server, etcd.prefix + "leader")
    assert raw is not None
    assert int(str(raw["lease"])) > 0  # attached to an etcd lease (TTL)
    value = json.loads(base64.b64decode(str(raw["value"])))
    assert value["holder"] == "a"
    assert value["token"] == lease.fencing_token


def test_a_dead_holders_key_is_collected_by_its_ttl_a_released_one_stays(
    etcd: EtcdLeaseBackend, etcd_server: EtcdServer
) -> None:
    dead = etcd.acquire("dead", "a", duration_seconds=0.5)  # etcd TTL: 2 x 0.5 s
    assert dead is not None
    etcd.acquire("released", "a", duration_seconds=0.5)
    etcd.release("released", "a")
    raw = _raw(etcd_server, etcd.prefix + "released")
    assert raw is not None
    assert "lease" not in raw  # detached from its etcd lease
    deadline = time.monotonic() + 10
    while etcd.get("dead") is not None:  # etcd's minimum TTL here is 1 s (see tests/_etcd.py)
        assert time.monotonic() < deadline, "etcd never expired the key"
        time.sleep(0.1)
    assert etcd.get("released") is not None
    again = etcd.acquire("dead", "b", duration_seconds=1)
    assert again is not None
    assert again.fencing_token > dead.fencing_token


def test_a_foreign_key_under_the_prefix_is_reported(
    etcd: EtcdLeaseBackend, etcd_server: EtcdServer
) -> None:
    key = base64.b64encode((etcd.prefix + "junk").encode()).decode()
    value = base64.b64encode(b"not json").decode()
    with requests.post(
        f"{etcd_server.url}/v3/kv/put", json={"key": key, "value": value}, timeout=5
    ) as answer:
        answer.raise_for_status()
    with pytest.raises(BackendUnavailable, match="not a roost lease record") as caught:
        etcd.get("junk")
    assert "prefix" in caught.value.hint
    assert etcd.list() == []  # skipped, not fatal


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_etcd_is_one_clear_error() -> None:
    backend = EtcdLeaseBackend(f"http://127.0.0.1:{_closed_port()}", timeout=1)
    try:
        with pytest.raises(BackendUnavailable, match=r"etcd at http://127\.0\.0\.1") as caught:
            backend.acquire("leader", "a", duration_seconds=5)
        assert "ROOST_ETCD_URL" in caught.value.hint
    finally:
        backend.close()


@pytest.mark.parametrize("url", ["127.0.0.1:2379", "ftp://x:1", "http://", "http://h:1/v3"])
def test_a_bad_etcd_url_is_refused(url: str) -> None:
    with pytest.raises(BackendConfigError, match="bad etcd URL") as caught:
        EtcdLeaseBackend(url)
    assert "http://host:port" in caught.value.hint
