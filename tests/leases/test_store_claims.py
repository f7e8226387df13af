"""The store operations the lease layer added: ``claim`` (compare-and-set on the watched row,
never on this host's clock) and ``adopt`` (mirroring an etcd/Kubernetes tenure for fencing).
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.leases.conftest import _empty_postgres

from roost.clock import VirtualClock
from roost.store import Fence, StaleFencingToken, Store, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: VirtualClock
) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = _empty_postgres(str(request.getfixturevalue("postgres_lease_url")))
    with open_store(url, clock=clock) as store:
        yield store


def test_claim_never_judges_expiry_by_timestamps(sql_store: Store, clock: VirtualClock) -> None:
    held = sql_store.leases.claim("l", "alice", duration_seconds=10)
    assert held is not None
    clock.advance(3600)  # an hour past its expiry by the store's clock...
    assert sql_store.leases.claim("l", "bob", duration_seconds=10) is None  # ...still alice's
    assert sql_store.leases.claim("l", "bob", duration_seconds=10, expected=(1, 0)) is None
    taken = sql_store.leases.claim(
        "l", "bob", duration_seconds=10, expected=(held.fencing_token, held.version)
    )
    assert taken is not None
    assert (taken.holder, taken.fencing_token, taken.transitions) == ("bob", 2, 1)


def test_claim_takes_free_leases_and_renews_its_own(sql_store: Store, clock: VirtualClock) -> None:
    first = sql_store.leases.claim("l", "alice", duration_seconds=10, reason="deploy")
    assert first is not None
    assert first.reason == "deploy"
    clock.advance(1)
    again = sql_store.leases.claim("l", "alice", duration_seconds=10, expected=(9, 9))
    assert again is not None
    assert again.fencing_token == first.fencing_token
    assert again.renewed_at == clock.now()
    assert again.reason == "deploy"
    released = sql_store.leases.release("l", "alice")
    assert released.reason is None
    assert sql_store.leases.claim("l", "bob", duration_seconds=10, expected=(9, 9)) is not None


def test_adopt_mirrors_external_tenures_in_order(sql_store: Store) -> None:
    adopted = sql_store.leases.adopt("leader", "a", fencing_token=100, duration_seconds=15)
    assert (adopted.holder, adopted.fencing_token) == ("a", 100)
    sql_store.events.append("ok", source="/t", fence=Fence("leader", 100))
    assert sql_store.leases.adopt("leader", "a", fencing_token=100, duration_seconds=15)
    sql_store.leases.adopt("leader", "b", fencing_token=130, duration_seconds=15)
    with pytest.raises(StaleFencingToken, match="held by 'b'"):
        sql_store.events.append("late", source="/t", fence=Fence("leader", 100))
    with pytest.raises(StaleFencingToken, match="already has token 130") as caught:
        sql_store.leases.adopt("leader", "a", fencing_token=100, duration_seconds=15)
    assert caught.value.hint
    with pytest.raises(StaleFencingToken):
        sql_store.leases.adopt("leader", "c", fencing_token=130, duration_seconds=15)
    # Tokens the store hands out itself continue above adopted ones, even after a delete.
    sql_store.leases.delete("leader")
    own = sql_store.leases.try_acquire("leader", "d", duration_seconds=15)
    assert own is not None
    assert own.fencing_token == 131


@pytest.mark.parametrize("token", [0, -3, True, 1.5])
def test_adopt_checks_its_token(sql_store: Store, token: int) -> None:
    with pytest.raises(ValueError, match="fencing_token"):
        sql_store.leases.adopt("leader", "a", fencing_token=token, duration_seconds=15)
