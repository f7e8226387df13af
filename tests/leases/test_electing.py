"""Leader election decisions, as pure functions on a virtual timeline (no I/O)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from roost.leases import SINGLE_INSTANCE_LEASE_SECONDS, Election, ElectionConfig, Lease, Role
from roost.leases.electing import Acquire, Observe, Renew, StepDown, Wait
from roost.leases.errors import ElectionConfigError

CONFIG = ElectionConfig(
    "leader", "me", lease_duration=15, renew_deadline=10, retry_period=2, jitter=0.5
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def lease(holder: str | None, version: str, *, token: int = 1, duration: float = 15) -> Lease:
    return Lease("leader", holder, duration, T0, T0, 0, token, version)


@pytest.mark.parametrize(
    ("timings", "message"),
    [
        ({"lease_duration": 10, "renew_deadline": 10}, "lease duration .* must be greater"),
        ({"lease_duration": 5, "renew_deadline": 10}, "lease duration \\(5s\\)"),
        ({"renew_deadline": 2.4, "retry_period": 2}, "1.2 x retry period"),
        ({"retry_period": 0}, "retry_period must be positive"),
        ({"lease_duration": math.inf}, "lease_duration must be positive and finite"),
        ({"renew_deadline": -1}, "renew_deadline must be positive"),
        ({"retry_period": "2"}, "retry_period must be a number"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
    ],
)
def test_timings_keep_client_go_invariants(timings: dict[str, object], message: str) -> None:
    with pytest.raises(ElectionConfigError, match=message) as caught:
        ElectionConfig("leader", "me", **timings)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert "15s" in caught.value.hint


def test_names_are_checked() -> None:
    with pytest.raises(ElectionConfigError, match="election identity"):
        ElectionConfig("leader", "")
    assert ElectionConfig("leader", "me").retry_period == 2.0  # client-go's defaults are valid


def test_a_free_lease_is_taken_and_renewed_every_retry_period() -> None:
    election = Election(CONFIG)
    assert election.plan(0.0) == Observe()
    election = election.observed(None, 0.0, draw=0.0)
    assert election.plan(0.0) == Acquire(None, 15)
    election = election.acquired(lease("me", "1"), started=0.0, now=0.1, draw=0.0)
    assert election.role is Role.LEADER
    assert election.plan(0.1) == Wait(1.9)
    assert election.plan(2.0) == Renew()
    election = election.renewed(lease("me", "2"), started=2.0)
    assert election.plan(2.5) == Wait(1.5)


def test_a_follower_waits_until_the_lease_it_watches_expires() -> None:
    election = Election(CONFIG).observed(lease("other", "5"), 0.0, draw=0.5)
    assert election.plan(0.0) == Wait(2.5)  # retry period 2 s + jitter 0.5 x 0.5 x 2 s
    polls = []
    while election.next_poll < 15:
        now = election.next_poll
        assert election.plan(now) == Observe()
        election = election.observed(lease("other", "5"), now, draw=1.0)  # unchanged
        assert isinstance(election.plan(now), Wait)
        polls.append(now)
    assert polls == [2.5, 5.5, 8.5, 11.5, 14.5]
    assert election.next_poll == 15.0  # polls exactly when the watched lease expires
    election = election.observed(lease("other", "5"), 15.0, draw=0.0)
    assert election.plan(15.0) == Acquire("5", 15)


def test_renewals_by_the_holder_keep_followers_waiting() -> None:
    election = Election(CONFIG)
    for step in range(20):
        now = step * 2.0
        election = election.observed(lease("other", str(step)), now, draw=0.0)
        assert election.plan(now) == Wait(2.0)
    assert election.observation is not None
    assert election.observation.observed_at == 38.0


def test_jitter_stays_within_its_bound() -> None:
    for draw in (0.0, 0.25, 0.999):
        election = Election(CONFIG).observed(None, 0.0, draw=draw)
        election = election.acquired(None, started=0.0, now=0.0, draw=draw)
        assert 2.0 <= election.next_poll <= 2.0 * 1.5


def test_a_lost_race_or_an_error_waits_a_retry_period() -> None:
    assert Election(CONFIG).observe_failed(0.0, draw=0.0).plan(1.0) == Wait(1.0)
    election = Election(CONFIG).observed(None, 0.0, draw=0.0)
    election = election.acquired(None, started=0.0, now=0.0, draw=0.0)
    assert election.plan(0.0) == Wait(2.0)
    assert election.plan(2.0) == Observe()
    election = election.observe_failed(2.0, draw=0.0)
    assert election.plan(2.0) == Wait(2.0)
    election = election.acquire_failed(4.0, draw=0.0)
    assert election.plan(4.0) == Wait(2.0)


def leader_at(started: float = 0.0) -> Election:
    election = Election(CONFIG).observed(None, started, draw=0.0)
    return election.acquired(lease("me", "1"), started=started, now=started, draw=0.0)


def test_the_leader_retries_renewals_and_steps_down_at_the_deadline() -> None:
    election = leader_at(0.0)
    now = 2.0
    while True:
        action = election.plan(now)
        if isinstance(action, StepDown):
            break
        if isinstance(action, Renew):
            election = election.renew_failed(now, lost=False)
        else:
            assert isinstance(action, Wait)
            now += action.seconds
    assert now == 10.0  # the renew deadline, counted from the last successful renewal
    assert "renew deadline 10s" in action.reason
    election = election.stepped_down(now)
    assert election.role is Role.FOLLOWER
    assert election.plan(now) == Observe()


def test_the_deadline_counts_from_when_the_renewal_was_sent() -> None:
    election = leader_at(0.0).renewed(lease("me", "2"), started=2.0)  # answer came later
    assert isinstance(election.plan(12.0), StepDown)
    assert election.plan(11.9) == Renew()


def test_a_lost_lease_steps_down_at_once() -> None:
    election = leader_at(0.0).renew_failed(2.0, lost=True)
    assert election.role is Role.FOLLOWER
    assert election.lease is None
    assert election.plan(2.0) == Observe()


def test_a_leader_paused_past_its_deadline_steps_down_without_writing() -> None:
    # SIGSTOP, GC pause, VM migration: the monotonic clock jumped while we were frozen.
    election = leader_at(0.0)
    assert isinstance(election.plan(60.0), StepDown)


def test_failover_within_lease_duration_plus_retry_period() -> None:
    # The leader's last renewal is at t=100; the follower polls on its own schedule.
    for offset in (0.0, 0.7, 1.99):
        election = Election(replace(CONFIG, jitter=0.0))
        now = 100.0 + offset  # first time the follower sees the last renewal
        election = election.observed(lease("other", "9"), now, draw=0.0)
        while not isinstance(election.plan(now), Acquire):
            action = election.plan(now)
            if isinstance(action, Wait):
                now += action.seconds
            else:
                election = election.observed(lease("other", "9"), now, draw=0.0)
        assert now <= 100.0 + CONFIG.lease_duration + CONFIG.retry_period


def test_a_follower_reclaims_its_own_lease_without_waiting() -> None:
    election = Election(CONFIG).observed(lease("me", "4"), 0.0, draw=0.0)
    assert election.plan(0.0) == Acquire(None, 15)


def test_single_instance_takes_the_lease_at_once_and_keeps_it() -> None:
    config = replace(CONFIG, single_instance=True)
    election = Election(config).observed(lease("dead-predecessor", "8"), 0.0, draw=0.0)
    assert election.plan(0.0) == Acquire("8", SINGLE_INSTANCE_LEASE_SECONDS)
    election = election.acquired(lease("me", "9"), started=0.0, now=0.0, draw=0.0)
    assert election.plan(0.0) == Wait(math.inf)
    assert election.plan(1e9) == Wait(math.inf)  # never renews, never steps down


def test_stopped_does_nothing() -> None:
    assert leader_at().stopped().plan(5.0) == Wait(math.inf)


def test_never_a_zero_wait_at_float_boundaries() -> None:
    # 10.1 - 0.1 < 10, yet 0.1 + 10 - 10.1 == 0: deciding on one sum and waiting on the
    # other made a leader spin on "wait 0 s" forever on a virtual clock.
    assert isinstance(leader_at(0.1).renew_failed(2.0, lost=False).plan(10.1), StepDown)
    rng = random.Random(7)
    for _ in range(2000):
        start = rng.uniform(0, 1000)
        election = leader_at(start)
        now = start + rng.choice([0.0, 2.0, 10.0, 9.999999999, rng.uniform(0, 12)])
        action = election.plan(now)
        assert not (isinstance(action, Wait) and action.seconds <= 0), (start, now)
