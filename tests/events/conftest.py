"""Fixtures of the event bus tests: a store on SQLite or a real PostgreSQL, a real
``nats-server -js`` for the session, and a bus of each backend over them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests._nats import NatsServer, NatsUnavailable, start_nats

from roost.clock import RealClock, VirtualClock
from roost.events.bus import Bus
from roost.events.outbox_bus import OutboxBus
from roost.store import Store, open_store


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """A real JetStream server for the whole session (fails, never skips, when missing)."""
    try:
        server = start_nats()
    except NatsUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# Before the default virtual epoch: the store's ids only ever grow within a process, so a test
# that moved its clock hours past the shared default would make every later test's ids
# sequential (and their unique-prefix lookups fragile).
_START = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(_START)


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: VirtualClock) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock) as store:
        yield store


@pytest.fixture(
    params=[
        "outbox-sqlite",
        pytest.param("outbox-postgres", marks=pytest.mark.postgres),
        "jetstream",
    ]
)
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    """A bus of each backend (a real clock: fetch waits for real)."""
    kind = str(request.param)
    if kind == "jetstream":
        from roost.events.jetstream import JetStreamBus

        server: NatsServer = request.getfixturevalue("nats_server")
        # A stream per test: the tests share one server and must not see each other's events.
        unique = uuid.uuid4().hex[:12]
        jet = JetStreamBus(
            server.url, stream=f"T{unique}", subject_prefix=f"t{unique}.", ack_wait=5.0
        )
        try:
            yield jet
        finally:
            jet.close()
        return
    if kind == "outbox-sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    with open_store(url, clock=RealClock()) as store:
        yield OutboxBus(store)
