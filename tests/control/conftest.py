"""Fixtures for the control-plane tests: a real etcd for the session (fails, never skips)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests._etcd import EtcdServer, EtcdUnavailable, start_etcd


@pytest.fixture(scope="session")
def control_etcd() -> Iterator[EtcdServer]:
    try:
        server = start_etcd()
    except EtcdUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
