"""Two `roost serve` processes on one PostgreSQL: one leads, the other serves reads and answers
writes with a 503 naming the leader; `kill -9` of the leader mid-rollout, and the follower takes
over within lease duration + 2 x retry period and carries the same rollout on from the store.
Real processes, real HTTP, a real database."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._auth import owner_headers
from tests._canary import wait_for
from tests._projects import make_project, project_down, web_project
from tests._roost import roost
from tests._servers import free_port

from roost._util.processes import pid_alive
from roost.leases import Locks, SqlLeaseBackend
from roost.store import open_store

DURATION, DEADLINE, RETRY = 3.0, 2.0, 0.5
TIMINGS = {
    "ROOST_LEASE_DURATION": str(DURATION),
    "ROOST_LEASE_RENEW_DEADLINE": str(DEADLINE),
    "ROOST_LEASE_RETRY_PERIOD": str(RETRY),
}

PROJECT = web_project(
    "ha",
    web="""\
    rollout:
      strategy: canary
      steps:
        - set_weight: 25
        - pause: {}
        - set_weight: 50
        - pause: 1s
""",
)


class Serve:
    """A `roost serve` on a fixed port whose output lines are collected as they come."""

    def __init__(self, root: Path, env: dict[str, str], *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "roost", "serve", "-p", str(root), "--port", str(self.port),
             *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line.rstrip()))

    def expect(self, pattern: str, timeout: float) -> float:
        """Wait for an output line matching ``pattern``; when it arrived (monotonic)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                at, line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no line like {pattern!r} within {timeout}s; saw: {self.seen}"
                ) from None
            self.seen.append(line)
            if re.search(pattern, line):
                return at

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def project(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Path, dict[str, str]]]:
    env = {"ROOST_DATABASE_URL": postgres_url, **TIMINGS}
    with project_down(make_project(tmp_path / "ha", PROJECT), env=env) as root:
        yield root, env


def _rollout(base: str, root: Path) -> dict[str, Any]:
    auth = owner_headers(root)
    found = httpx.get(f"{base}/api/v1/rollouts/find/web", headers=auth, timeout=10).json()
    status: dict[str, Any] = httpx.get(
        f"{base}/api/v1/rollouts/{found['id']}/status", headers=auth, timeout=10
    ).json()
    return status


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(480)
def test_kill_9_of_the_leader_hands_the_rollout_to_the_follower(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")} | env
    # `roost up` starts the agent and the first control plane (A), which leads.
    up = roost("up", "-p", str(root), env=env, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    api = json.loads((root / ".roost" / "api.json").read_text())
    a_url, a_pid = api["url"], api["pid"]

    # B: a second control plane on the same store, timings as options this time.
    b = Serve(
        root,
        full_env,
        "--lease-duration", str(DURATION),
        "--renew-deadline", str(DEADLINE),
        "--retry-period", str(RETRY),
    )  # fmt: skip
    try:
        b.expect(r"^following: serve-\S+-" + str(a_pid) + " leads", timeout=120)
        # A follower reads ...
        with httpx.Client(base_url=b.url, headers=owner_headers(root), timeout=10) as client:
            assert client.get("/api/v1/status").status_code == 200
            history = client.get("/api/v1/services/web/history")
            assert history.status_code == 200
            assert len(history.json()) == 1  # up's first deploy
            # ... and refuses writes, naming the leader.
            refused = client.post("/api/v1/rollouts", json={"service": "web"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == f"not the leader; leader is serve-{_host()}-{a_pid}"

        # A rollout in flight on A: it holds at 25 % until a human promotes it.
        deployed = roost(
            "deploy", "web", "-p", str(root), "--as", "alice", "--detach",
            "--set-env", "HELLO_GREETING=v2",
            env=env, timeout=60,
        )  # fmt: skip
        assert deployed.returncode in (0, 3), deployed.stdout + deployed.stderr
        held = wait_for(
            lambda: (r := _rollout(a_url, root))["weights"] == {"web-r1": 75, "web-r2": 25} and r,
            timeout=30,
            what="the canary at 25 %",
        )
        assert held["active"], held
        # The rollout guardrail holds the deploy lock while it runs.
        locks = roost("lock", "list", "-p", str(root), env={**env, "COLUMNS": "250"})
        assert locks.returncode == 0, locks.stderr
        assert re.search(
            rf"deploy/dev/web\s+│\s+control-plane\s+│\s+rollout {held['id']}", locks.stdout
        ), locks.stdout

        os.kill(a_pid, signal.SIGKILL)
        killed = time.monotonic()
        took_over = b.expect(r"leads the control plane \(fencing token \d+\)", timeout=60)
        failover = took_over - killed
        # Lease duration + 2 retry periods, plus up to a second for the new leader's log line
        # to reach us on a loaded machine: still under two lease durations, so a follower that
        # waited for a second expiry fails.
        bound = DURATION + 2 * RETRY + 1.0
        assert bound < 2 * DURATION
        print(f"\nfailover after kill -9: {failover:.2f}s (bound: lease {DURATION:g}s + 2 x retry)")
        assert failover <= bound, f"took {failover:.2f}s, more than {bound:g}s"
        assert not pid_alive(a_pid)

        # The same rollout, from its persisted state: still held at 25 % on B ...
        resumed = _rollout(b.url, root)
        assert resumed["id"] == held["id"]
        assert resumed["weights"] == {"web-r1": 75, "web-r2": 25}
        # ... and B now advertises itself to the CLI and carries it on to the end.
        wait_for(
            lambda: json.loads((root / ".roost" / "api.json").read_text())["url"] == b.url,
            timeout=10,
            what="B in api.json",
        )
        promoted = roost("rollout", "promote", "web", "-p", str(root), "--as", "bob", env=env)
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        done = wait_for(
            lambda: (r := _rollout(b.url, root))["state"] == "promoted" and r,
            timeout=30,
            what="the promotion on the new leader",
        )
        assert done["id"] == held["id"]
        assert done["weights"] == {"web-r1": 0, "web-r2": 100}
        kinds = [e["kind"] for e in done["timeline"]]
        assert kinds.count("started") == 1
        events = roost("events", "-p", str(root), "--type", "dev.roost.control.leading", "--json",
                       env=env)  # fmt: skip
        tokens = [json.loads(line)["data"]["fencing_token"] for line in events.stdout.splitlines()]
        assert len(tokens) == 2
        assert tokens[0] > tokens[1]  # newest first: B's tenure has the higher token
        # The rollout ended: its deploy lock is released (B took it over, then let it go).
        wait_for(
            lambda: "deploy/dev/web" not in roost("lock", "list", "-p", str(root), env=env).stdout,
            timeout=10,
            what="the deploy lock released",
        )
        # Someone else's deploy lock keeps deploys out, and the refusal names them.
        store = open_store(env["ROOST_DATABASE_URL"])
        try:
            locks_ = Locks(SqlLeaseBackend(store), events=store.events)
            taken = locks_.acquire(
                "deploy/dev/web", "ci-42", reason="database maintenance", duration_seconds=60
            )
            assert taken is not None
            refused_deploy = roost("deploy", "web", "-p", str(root), "--as", "alice",
                                   "--set-env", "HELLO_GREETING=v3", env=env)  # fmt: skip
            assert refused_deploy.returncode == 1, refused_deploy.stdout + refused_deploy.stderr
            assert "deploy lock deploy/dev/web is held by ci-42 for 'database maintenance'" in (
                refused_deploy.stderr
            )
            assert len(refused_deploy.stderr.strip().splitlines()) == 1
            locks_.release("deploy/dev/web", "ci-42")
        finally:
            store.close()
    finally:
        b.stop()


def _host() -> str:
    import socket

    return socket.gethostname()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--lease-duration", "2", "--renew-deadline", "3"), "must be greater than the renew"),
        (("--renew-deadline", "1", "--retry-period", "1"), "1.2 x retry period"),
        (("--retry-period", "-1"), "retry_period must be positive"),
        (("--heartbeat-grace", "0"), "heartbeat grace must be a positive number"),
    ],
)
def test_bad_election_timings_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    result = roost("serve", "-p", str(tmp_path), "--port", "0", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("roost: error: ")
    assert expected in lines[0]
    assert not (tmp_path / ".roost").exists()  # refused before anything was opened
