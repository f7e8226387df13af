"""The agent's supervisor as a process, with a stand-in agent (tests/agent/_stand_in_agent.py):
the API socket stays open across a `kill -9` of the agent, the reserve takes over, the restart is
recorded in supervisor.json, SIGTERM stops everything. The real agent under `roost up` is
tested in tests/cli/test_agent_restart.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._canary import wait_for

from roost._util.processes import pid_alive

STAND_IN = Path(__file__).with_name("_stand_in_agent.py")
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    served = tmp_path / "served.json"
    command = [sys.executable, str(STAND_IN), str(served)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roost.agent.supervising",
            "--project",
            str(tmp_path),
            "--agent-command",
            json.dumps(command),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
        start_new_session=True,
    )
    try:
        yield process, tmp_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _ask(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        return int(conn.makefile().readline())


def _state(root: Path) -> dict[str, object]:
    path = root / ".roost" / "agent" / "supervisor.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    assert isinstance(data, dict)
    return data


def test_a_killed_agent_is_replaced_by_the_reserve_on_the_same_socket(
    supervised: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, root = supervised
    served = root / "served.json"
    wait_for(served.exists, timeout=20, what="the first agent")
    first = json.loads(served.read_text())
    port = first["port"]
    assert _ask(port) == first["pid"]
    wait_for(lambda: _state(root).get("reserve_ready"), timeout=30, what="the reserve")
    reserve = _state(root)["reserve_pid"]

    os.kill(first["pid"], signal.SIGKILL)
    # (Until it is gone it may still accept, and take the connection with it.)
    wait_for(lambda: not pid_alive(first["pid"]), timeout=10, what="the kill")
    # No refusal in between: the supervisor holds the socket; the reserve answers.
    assert _ask(port) == reserve
    state = wait_for(
        lambda: _state(root).get("restarts") == 1 and _state(root), timeout=20, what="state"
    )
    assert state["agent_pid"] == reserve
    last = state["last_restart"]
    assert isinstance(last, dict)
    assert last["pid"] == first["pid"]
    assert last["exit"] == "killed by signal 9 (SIGKILL)"
    assert last["delay"] == 0.0

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not pid_alive(int(str(reserve)))
    assert not (root / ".roost" / "agent" / "supervisor.json").exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_an_agent_that_dies_before_it_serves_ends_the_supervisor(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "raise SystemExit(3)"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "roost.agent.supervising",
            "--project",
            str(tmp_path),
            "--agent-command",
            json.dumps(command),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "exited with code 3 before it served; giving up" in done.stderr
