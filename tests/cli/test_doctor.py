"""An agent that stops sending heartbeats, as a user meets it: `kill -9` of the agent (and of
its supervisor, which would restart it) under a running `roost up`; the control plane marks it
NotReady once (an audit event), refuses new work for it with a clear line, and `roost doctor`
names the agent, its condition and the likely cause. Real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._canary import wait_for
from tests._projects import make_project, project_down, web_project
from tests._roost import roost

from roost._util.processes import pid_alive

# Two heartbeat intervals (the agent renews every 5 s) rather than just over one: a heartbeat
# that a loaded machine sends a second late must not make a live agent look silent (the test
# expects exactly one not_ready event, after the kill). The default grace is three intervals.
GRACE = "10"

PROJECT = web_project("doc")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    with project_down(make_project(tmp_path / "doc", PROJECT)) as root:
        yield root


def _events(root: Path, type_: str) -> list[dict[str, object]]:
    shown = roost("events", "-p", str(root), "--type", type_, "--json")
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines()]


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_a_killed_agent_is_not_ready_gets_no_work_and_the_doctor_says_why(root: Path) -> None:
    env = {"ROOST_HEARTBEAT_GRACE": GRACE}
    up = roost("up", "-p", str(root), env=env, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    healthy = roost("doctor", "-p", str(root), env=env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "Ready" in healthy.stdout
    assert "control plane: serve-" in healthy.stdout
    assert "healthy" in healthy.stdout

    agent_pid = json.loads((root / ".roost" / "agent" / "agent.json").read_text())["pid"]
    # Its supervisor would restart it (tests/cli/test_agent_restart.py): it goes first.
    supervisor = json.loads((root / ".roost" / "agent" / "supervisor.json").read_text())["pid"]
    os.kill(supervisor, signal.SIGKILL)
    os.kill(agent_pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(agent_pid), timeout=10, what="the kill")

    # The doctor does not wait for the grace period: the process is gone.
    sick = roost("doctor", "-p", str(root), "--json", env=env)
    assert sick.returncode == 1, sick.stdout + sick.stderr
    report = json.loads(sick.stdout)
    host = socket.gethostname()
    (agent,) = report["agents"]
    assert agent["node"] == host
    assert agent["status"] == "NotReady"
    assert any(f"agent pid {agent_pid} is not running" in c for c in agent["causes"])
    assert any("port unreachable" in c for c in agent["causes"])
    assert report["leader"]["alive"] is True

    # The control plane marks it NotReady after its grace, once.
    (event,) = wait_for(
        lambda: _events(root, "dev.roost.agent.not_ready"), timeout=60, what="the event"
    )
    assert event["subject"] == host
    assert "no heartbeat for" in str(event["data"])

    # No new work for it: a deploy is refused with one clear line, and leaves nothing behind.
    refused = roost("deploy", "web", "-p", str(root), "--as", "alice", "--set-env", "A=b")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert f"agent {host} NotReady since" in lines[0]
    assert "last heartbeat" in lines[0]
    assert "roost doctor" in lines[0]
    releases = roost("release", "list", "web", "-p", str(root))
    assert "web-r2" not in releases.stdout

    shown = roost("doctor", "-p", str(root), env={**env, "COLUMNS": "250"})
    assert shown.returncode == 1
    assert "NotReady" in shown.stdout
    assert "process gone" in shown.stdout
    assert "agent.not_ready" in shown.stdout  # among the recent events
    assert "problem(s):" in shown.stdout


def test_doctor_without_anything_running_says_so(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    result = roost("doctor", "-p", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no agent has ever sent a heartbeat" in result.stdout
    assert "no control-plane leader" in result.stdout
    bad = roost("doctor", "-p", str(tmp_path), "--heartbeat-grace", "-3")
    assert bad.returncode == 2
    assert bad.stderr.startswith("roost: error: heartbeat grace must be a positive")
