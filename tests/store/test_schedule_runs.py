"""Schedule run records and quarantines, on SQLite and PostgreSQL: a tick is claimed once (the
unique constraint), only with the current fence, and the newest tick per schedule is read back
as an aware UTC time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from roost.clock import VirtualClock
from roost.store import Claim, StaleFencingToken, Store, open_store

TICK = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_tick_is_claimed_once(store: Store) -> None:
    first = store.schedule_runs.claim("nightly", TICK, claimed_by="cp-1")
    assert first is not None
    assert (first.status, first.claimed_by, first.scheduled_at) == ("running", "cp-1", TICK)
    assert store.schedule_runs.claim("nightly", TICK, claimed_by="cp-2") is None
    assert store.schedule_runs.claim("other", TICK, claimed_by="cp-2") is not None
    store.schedule_runs.finish(first.id, "succeeded", detail="ok")
    store.schedule_runs.finish(first.id, "failed", detail="late")  # the first ending stays
    (row,) = store.schedule_runs.list("nightly")
    assert (row.status, row.detail) == ("succeeded", "ok")


def test_a_claim_needs_the_current_fence(store: Store, clock: VirtualClock) -> None:
    one = store.leases.try_acquire("cp", "cp-1", duration_seconds=10)
    assert one is not None
    assert store.schedule_runs.claim("s", TICK, claimed_by="cp-1", fence=one.fence()) is not None
    clock.advance(11)
    two = store.leases.try_acquire("cp", "cp-2", duration_seconds=10)
    assert two is not None
    later = TICK + timedelta(minutes=1)
    with pytest.raises(StaleFencingToken):
        store.schedule_runs.claim("s", later, claimed_by="cp-1", fence=one.fence())
    claimed = store.schedule_runs.claim("s", later, claimed_by="cp-2", fence=two.fence())
    assert claimed is not None
    assert claimed.fencing_token == two.fencing_token


def test_concurrent_claims_of_one_tick_have_one_winner(store_url: str) -> None:
    winners: list[str] = []
    with open_store(store_url) as store:

        def claim(who: str) -> None:
            if store.schedule_runs.claim("race", TICK, claimed_by=who) is not None:
                winners.append(who)

        threads = [threading.Thread(target=claim, args=(f"cp-{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        rows = store.schedule_runs.list("race")
    assert len(winners) == 1
    assert [r.claimed_by for r in rows] == winners


def test_last_ticks_are_aware_utc_per_schedule(store: Store) -> None:
    assert store.schedule_runs.last_ticks() == {}
    for minutes in (0, 30, 10):
        store.schedule_runs.claim("a", TICK + timedelta(minutes=minutes), claimed_by="cp")
    store.schedule_runs.claim("b", TICK, claimed_by="cp", status="missed")
    assert store.schedule_runs.last_ticks() == {"a": TICK + timedelta(minutes=30), "b": TICK}
    assert [r.schedule for r in store.schedule_runs.running()] == ["a", "a", "a"]


def test_quarantines_are_kept_until_released(store: Store) -> None:
    digest = "sha256:" + "0" * 64
    record, new = store.quarantines.add(digest, reason="CVE-1", by="alice")
    assert new
    again, new_again = store.quarantines.add(digest, reason="CVE-2", by="bob")
    assert (new_again, again.reason) == (False, "CVE-1")
    assert store.quarantines.get(digest) == record
    assert [q.digest for q in store.quarantines.list()] == [digest]
    assert store.quarantines.release(digest) == record
    assert store.quarantines.release(digest) is None
    assert store.quarantines.get(digest) is None


def test_claim_many_claims_what_is_free_in_one_fenced_transaction(
    store: Store, clock: VirtualClock
) -> None:
    one = store.leases.try_acquire("cp", "cp-1", duration_seconds=10)
    assert one is not None
    store.schedule_runs.claim("a", TICK, claimed_by="cp-0")
    later = TICK + timedelta(minutes=5)
    got = store.schedule_runs.claim_many(
        [Claim("a", TICK), Claim("a", later), Claim("b", TICK, "missed", "since 00:00")],
        claimed_by="cp-1",
        fence=one.fence(),
    )
    assert sorted(got) == [("a", later), ("b", TICK)]  # a@TICK was cp-0's
    assert got[("b", TICK)].status == "missed"
    assert got[("b", TICK)].finished_at is not None
    assert got[("a", later)].fencing_token == one.fencing_token
    clock.advance(11)
    assert store.leases.try_acquire("cp", "cp-2", duration_seconds=10) is not None
    with pytest.raises(StaleFencingToken):
        store.schedule_runs.claim_many([Claim("c", TICK)], claimed_by="cp-1", fence=one.fence())
    assert store.schedule_runs.list("c") == []
