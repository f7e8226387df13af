"""The control-plane gate: one leader among several processes, failover after ``kill -9``
within lease duration + retry period, immediate hand-over on a clean stop, single-instance
mode, and the same on etcd with fencing through the store."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._etcd import EtcdServer

from roost.control.leadership.leading import LeadershipGate, NotLeading, election_config, open_gate
from roost.leases import (
    SINGLE_INSTANCE_LEASE_SECONDS,
    ElectionConfigError,
    SqlLeaseBackend,
)
from roost.store import Fence, StaleFencingToken, Store, open_store

PARTICIPANT = Path(__file__).with_name("gate_participant.py")
DURATION, DEADLINE, RETRY = 2.0, 1.2, 0.1
TIMINGS = {
    "ROOST_LEASE_DURATION": str(DURATION),
    "ROOST_LEASE_RENEW_DEADLINE": str(DEADLINE),
    "ROOST_LEASE_RETRY_PERIOD": str(RETRY),
}
# Jitter (10 % of the retry period by default), and the time to read and write the lease and
# to get scheduled on a busy two-core machine (the suite runs in parallel beside other work).
# Kept under half a lease duration, so a take-over that waited a second lease duration (or
# measured expiry from the wrong renewal) still fails.
SLACK = 0.1 * RETRY + 0.9
assert SLACK < DURATION / 2


class Participant:
    def __init__(self, url: str, identity: str, env: dict[str, str]) -> None:
        self.identity = identity
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, str(PARTICIPANT), url, identity],
            stdout=subprocess.PIPE,
            text=True,
            # A developer's own ROOST_* settings must not leak into the test.
            env={k: v for k, v in os.environ.items() if not k.startswith("ROOST_")} | env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float = 60.0) -> str | None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        return None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def spawn() -> Iterator[list[Participant]]:
    started: list[Participant] = []
    yield started
    for participant in started:
        participant.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_the_follower_takes_over_within_lease_duration_plus_retry_period_after_kill_9(
    postgres_url: str, spawn: list[Participant]
) -> None:
    open_store(postgres_url).close()
    env = dict(TIMINGS)
    by_name = {}
    for n in range(2):
        participant = Participant(postgres_url, f"serve-{n}", env)
        spawn.append(participant)
        by_name[participant.identity] = participant
        assert participant.expect("ready") is not None
    leader = _await_leader(list(by_name.values()))
    assert leader.expect("wrote") is not None
    for round_ in range(3):
        time.sleep(0.3)  # let the follower see a few renewals first
        follower = next(p for p in by_name.values() if p is not leader)
        killed_at = time.monotonic()
        os.kill(leader.process.pid, signal.SIGKILL)
        line = follower.expect("leading", timeout=DURATION + RETRY + 5)
        assert line is not None, "nobody took over"
        took_over = float(line.split()[1]) - killed_at
        assert DURATION - RETRY - 0.05 <= took_over <= DURATION + RETRY + SLACK, took_over
        assert follower.expect("wrote") is not None  # its fence works at once
        leader.close()
        replacement = Participant(postgres_url, f"serve-{2 + round_}", env)
        spawn.append(replacement)
        assert replacement.expect("ready") is not None
        by_name = {follower.identity: follower, replacement.identity: replacement}
        leader = follower
    with open_store(postgres_url) as store:
        assert len(store.events.list("gate.test")) == 4  # one fenced write per tenure
        lease = store.leases.get("roost/control-plane")
        assert lease is not None
        assert lease.holder == leader.identity
        assert lease.transitions == 3


def _await_leader(participants: list[Participant]) -> Participant:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for participant in participants:
            try:
                line = participant.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line.startswith("leading"):
                return participant
    raise AssertionError("nobody was elected")


def _gate(store: Store, identity: str, **env: str) -> LeadershipGate:
    timings = {
        "ROOST_LEASE_DURATION": "0.6",
        "ROOST_LEASE_RENEW_DEADLINE": "0.4",
        "ROOST_LEASE_RETRY_PERIOD": "0.05",
    }
    return open_gate(store, identity=identity, environ=timings | env)


def test_a_clean_stop_hands_over_at_once(store: Store) -> None:
    started: list[Fence] = []
    stopped: list[str] = []
    # A lease far longer than the waits below: b can only lead in time if a released it.
    long_lease = {"ROOST_LEASE_DURATION": "60", "ROOST_LEASE_RENEW_DEADLINE": "40"}
    a = _gate(store, "a", **long_lease)
    b = _gate(store, "b", **long_lease)
    a.on_started_leading(started.append)
    a.on_stopped_leading(lambda: stopped.append("a"))
    with a:
        assert a.wait_for_leadership(5)
        assert a.is_leader
        assert a.fence == started[0]
        late: list[Fence] = []
        a.on_started_leading(late.append)  # registered while leading: told at once
        assert late == started
        with b:
            time.sleep(0.2)
            assert not b.is_leader
            assert b.leader == "a"
            assert a.require_fence() == started[0]
            with pytest.raises(NotLeading, match=r"\(b\) does not lead") as caught:
                b.require_fence()
            assert caught.value.hint == "a leads it; send the request there"
            a.stop()
            assert stopped == ["a"]
            assert a.fence is None
            assert b.wait_for_leadership(10)  # released: no 60 s lease duration to wait
            with pytest.raises(StaleFencingToken):
                store.events.append("late", source="/t", fence=started[0])
            assert b.fence is not None
            store.events.append("ok", source="/t", fence=b.fence)
    assert "follower" in repr(b)


def test_single_instance_leads_at_once_even_over_a_dead_holder(store: Store) -> None:
    SqlLeaseBackend(store).acquire("roost/control-plane", "dead", duration_seconds=3600)
    gate = open_gate(store, single_instance=True, identity="solo", environ={})
    with gate:
        assert gate.wait_for_leadership(5)
        lease = store.leases.get("roost/control-plane")
        assert lease is not None
        assert lease.holder == "solo"
        assert lease.duration_seconds == SINGLE_INSTANCE_LEASE_SECONDS
        assert gate.fence is not None
        store.events.append("ok", source="/t", fence=gate.fence)
    released = store.leases.get("roost/control-plane")
    assert released is not None
    assert released.holder is None


def test_on_etcd_the_gate_fences_store_writes(
    store: Store, control_etcd: EtcdServer, tmp_path: Path
) -> None:
    etcd_env = {
        "ROOST_LEASE_BACKEND": "etcd",
        "ROOST_ETCD_URL": control_etcd.url,
        "ROOST_ETCD_PREFIX": f"/gate-test/{tmp_path.name}/",
    }
    a = _gate(store, "a", **etcd_env)
    b = _gate(store, "b", **etcd_env)
    with a, b:
        deadline = time.monotonic() + 5
        while not (a.is_leader or b.is_leader):
            assert time.monotonic() < deadline, "nobody was elected"
            time.sleep(0.01)
        first, second = (a, b) if a.is_leader else (b, a)
        assert first.backend.kind == "etcd"
        fence = first.fence
        assert fence is not None
        mirrored = store.leases.get("roost/control-plane")
        assert mirrored is not None
        assert (mirrored.holder, mirrored.fencing_token) == (first.identity, fence.token)
        store.events.append("ok", source="/t", fence=fence)
        first.stop()
        assert second.wait_for_leadership(5)
        assert second.fence is not None
        assert second.fence.token > fence.token
        with pytest.raises(StaleFencingToken):
            store.events.append("late", source="/t", fence=fence)
        store.events.append("ok", source="/t", fence=second.fence)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROOST_LEASE_RENEW_DEADLINE": "20"}, "must be greater than the renew deadline"),
        ({"ROOST_LEASE_RETRY_PERIOD": "9"}, "1.2 x retry period"),
        ({"ROOST_LEASE_DURATION": "soon"}, "is not a number of seconds"),
    ],
)
def test_bad_timings_fail_at_start_up(env: dict[str, str], message: str) -> None:
    with pytest.raises(ElectionConfigError, match=message) as caught:
        election_config(identity="x", environ=env)
    assert caught.value.hint


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened
