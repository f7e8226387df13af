"""Chaos: two control-plane processes on one PostgreSQL; over and over, freeze the leader with
SIGSTOP, delete the lease, let the other take over, and resume the frozen one, which at once
tries a write with its old fence. Zero stale writes may be accepted, over 1,000 failovers.

Whether a stale write was accepted is decided from the events table, not from what the
participants say: every accepted ``chaos.write`` carries the token it was fenced with, tokens
only grow, so (in commit order) no accepted write may carry a token lower than one accepted
before it, and no "resumed" write (always stale: the lease moved on while its writer was
frozen) may exist at all.

The participants' sessions use ``idle_in_transaction_session_timeout``: a process frozen in
the middle of a transaction would otherwise hold its row locks (and the lease) until resumed;
with the timeout PostgreSQL ends that session and rolls its transaction back, as it should for
a client that stopped talking.
"""

from __future__ import annotations

import itertools
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from roost.store import open_store

PARTICIPANT = Path(__file__).with_name("chaos_participant.py")
FAILOVERS = 1000
WAIT_SECONDS = 30.0


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def expect(self, prefix: str, timeout: float = WAIT_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name} did not print {prefix!r} in {timeout}s")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line


def _read(proc: Proc) -> None:
    assert proc.process.stdout is not None
    for line in proc.process.stdout:
        proc.lines.put(line.strip())


@pytest.fixture
def participants(postgres_url: str) -> Iterator[dict[str, Proc]]:
    open_store(postgres_url).close()  # migrate once, before two processes race to do it
    procs: dict[str, Proc] = {}
    threads = []
    for name in ("a", "b"):
        options = quote("-c idle_in_transaction_session_timeout=100")
        url = f"{postgres_url}?application_name=chaos-{name}&options={options}"
        process = subprocess.Popen(
            [sys.executable, str(PARTICIPANT), url, name],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        procs[name] = Proc(name, process)
        thread = threading.Thread(target=_read, args=(procs[name],), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        for proc in procs.values():
            proc.expect("ready", timeout=90)
        yield procs
    finally:
        for proc in procs.values():
            if proc.process.poll() is None:
                os.kill(proc.process.pid, signal.SIGCONT)
                proc.process.terminate()
        for proc in procs.values():
            try:
                proc.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait()
        for thread in threads:
            thread.join(timeout=5)
        for proc in procs.values():
            if proc.process.stdout is not None:
                proc.process.stdout.close()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_no_stale_write_survives_1000_forced_failovers(
    participants: dict[str, Proc], postgres_url: str
) -> None:
    engine = sa.create_engine(postgres_url)
    rng = random.Random(5)
    attempts: list[str] = []
    announcements: list[str] = []
    try:
        # Whoever wins the first election announces it.
        leader, token = _first_leader(participants)
        for _ in range(FAILOVERS):
            frozen = participants[leader]
            other = participants["b" if leader == "a" else "a"]
            time.sleep(rng.uniform(0, 0.01))  # freeze at a random point of its loop
            os.kill(frozen.process.pid, signal.SIGSTOP)
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM leases WHERE name = 'chaos'"))
            line = other.expect("elected")
            announcements.append(line)
            new_token = int(line.split()[1])
            assert new_token > token
            os.kill(frozen.process.pid, signal.SIGCONT)
            attempts.append(frozen.expect("attempt"))
            leader, token = other.name, new_token

        for proc in participants.values():
            assert proc.process.poll() is None, f"participant {proc.name} died"
        writes = _writes(engine)
    finally:
        engine.dispose()

    highest = 0
    stale = []
    for kind, written_token, writer in writes:
        if written_token < highest or kind == "resumed":
            stale.append((kind, written_token, writer, highest))
        highest = max(highest, written_token)
    elected = [(t, writer) for kind, t, writer in writes if kind == "elected"]
    assert stale == [], f"{len(stale)} stale writes were accepted: {stale[:5]}"
    # A new leader's own marker is never refused by fencing. It may fail to reach the store when
    # the database drops the connection under load (the frozen holder's idle transaction is cut
    # off by idle_in_transaction_session_timeout, by design): such a write is an "error", and
    # the next takeover must still succeed. Every marker the store accepted is in the log.
    outcomes = [line.split()[2] for line in announcements]
    assert "refused" not in outcomes, announcements
    assert outcomes.count("error") <= FAILOVERS // 100, announcements
    assert len(elected) >= outcomes.count("accepted") + 1
    # Every takeover (a new holder) got a higher token. A leader starved past its renew
    # deadline on a busy machine may step down and win its own, unexpired lease back: that
    # keeps its token (nobody held it in between), so it may be announced twice.
    for (before, previous), (after, writer) in itertools.pairwise(elected):
        assert after > before or (after == before and writer == previous), (
            f"takeover by {writer} with token {after} after {previous}'s {before}"
        )
    assert len(attempts) == FAILOVERS
    assert not [a for a in attempts if a.endswith("accepted")]
    refused = sum(a.endswith("refused") for a in attempts)
    assert refused >= FAILOVERS * 0.9, f"only {refused} attempts reached the store"
    assert sum(kind == "tick" for kind, _, _ in writes) > FAILOVERS // 2  # real traffic, too


def _first_leader(participants: dict[str, Proc]) -> tuple[str, int]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for proc in participants.values():
            try:
                line = proc.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line.startswith("elected"):
                return proc.name, int(line.split()[1])
    raise AssertionError("nobody was elected")


def _writes(engine: sa.Engine) -> list[tuple[str, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT data FROM events WHERE type = 'chaos.write' ORDER BY seq")
        ).all()
    return [(row.data["kind"], int(row.data["token"]), row.data["writer"]) for row in rows]
