"""The data plane outlives its agent, as a user meets it: `kill -9` of the agent under a steady
200 requests/s through the router of `roost up` (examples/hello, two replicas); `roost down`
after the agent died; `roost up` whose control plane fails to start. Real processes, real HTTP.

Nothing here asserts on speed: the kill test counts failed requests and waits for routing with
a generous deadline, and prints the outage it recorded (bench/agent_kill reports it properly).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests._canary import wait_for
from tests._load import LoadResult, run_load
from tests._roost import REPO, kill_leftovers, roost

from roost._util.processes import pid_alive
from roost.control.dataplane.agents import AgentClient

HELLO = REPO / "examples" / "hello"
RATE = 200.0
SECONDS = 10.0
KILL_AFTER = 3.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "hello"
    shutil.copytree(HELLO, root)
    try:
        yield root
    finally:
        roost("down", "-p", str(root), timeout=150)
        kill_leftovers(root)


def _up(root: Path, env: dict[str, str] | None = None) -> None:
    up = roost("up", "-p", str(root), env=env, timeout=150)
    assert up.returncode == 0, up.stdout + up.stderr


def _agent_state(root: Path) -> dict[str, object]:
    with AgentClient.for_project(root / ".roost" / "agent", timeout=10) as agent:
        data = agent.state()
    assert isinstance(data, dict)
    return data


def _hello(root: Path) -> dict[str, object]:
    environments = _agent_state(root)["environments"]
    assert isinstance(environments, dict)
    hello = environments["dev"]["services"]["hello"]
    assert isinstance(hello, dict)
    return hello


def _replica_pids(root: Path) -> set[int]:
    revisions = _hello(root)["revisions"]
    assert isinstance(revisions, list)
    return {r["pid"] for rev in revisions for r in rev["replicas"]}


def _ready(root: Path) -> bool:
    revisions = _hello(root)["revisions"]
    assert isinstance(revisions, list)
    return bool(revisions) and all(
        r["ready_replicas"] == r["desired_replicas"] > 0 for r in revisions
    )


def _supervisor(root: Path) -> dict[str, object]:
    return _json(root / ".roost" / "agent" / "supervisor.json")


def _running_under(root: Path) -> list[str]:
    """Processes that belong to the project in ``root``: named in their command line, or
    running in it (the replicas' working directory)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(root) in cmdline or (proc.info["cwd"] or "").startswith(str(root)):
            found.append(f"{proc.info['pid']}: {cmdline}")
    return found


def test_kill_9_of_the_agent_under_load_loses_almost_nothing(root: Path) -> None:
    _up(root)
    wait_for(lambda: _ready(root), timeout=60, what="hello-r1 ready")
    # The reserve agent is what makes the takeover quick; wait until it stands by.
    wait_for(lambda: _supervisor(root).get("reserve_ready"), timeout=90, what="the reserve")
    url = str(_hello(root)["url"])
    weights = _hello(root)["weights"]
    replicas = _replica_pids(root)
    agent_pid = int(str(_json(root / ".roost" / "agent" / "agent.json")["pid"]))

    started = threading.Event()
    results: list[LoadResult] = []
    load = threading.Thread(
        target=lambda: results.append(run_load(url, rate=RATE, seconds=SECONDS, started=started))
    )
    load.start()
    assert started.wait(timeout=10)
    time.sleep(KILL_AFTER)
    killed_at = time.monotonic()
    os.kill(agent_pid, signal.SIGKILL)
    load.join(timeout=SECONDS + 120)
    (result,) = results

    back = result.first_ok_after(killed_at)
    failed = result.failed
    print(
        f"\nagent kill -9 under {RATE:.0f} req/s: {result.total} requests, {len(failed)} failed "
        f"{result.outcomes()}, first 200 after the kill: "
        f"{'never' if back is None else f'{back.done - killed_at:.3f}s'}, "
        f"p99 latency from the kill on: {result.latency(0.99, since=killed_at):.3f}s"
    )
    assert result.total >= RATE * SECONDS * 0.95
    assert len(failed) <= result.total * 0.01, result.outcomes()
    # Requests queued while no agent ran were answered, not refused — and never 503: the new
    # agent adopted the replicas before it accepted.
    assert not [s for s in failed if s.outcome.startswith("http")], result.outcomes()
    assert back is not None
    assert back.done - killed_at < 60

    # The replicas never stopped; routing resumed with the last weights on the same port.
    assert not pid_alive(agent_pid)
    assert _replica_pids(root) == replicas
    assert _hello(root)["weights"] == weights
    assert _hello(root)["url"] == url
    assert int(str(_json(root / ".roost" / "agent" / "agent.json")["pid"])) != agent_pid

    # The restart is recorded, and the doctor shows it.
    def restarted() -> list[dict[str, object]]:
        shown = roost(
            "events", "-p", str(root), "--type", "dev.roost.agent.restarted", "--json", timeout=90
        )
        return [json.loads(line) for line in shown.stdout.splitlines()]

    (event,) = wait_for(restarted, timeout=120, what="the restart event")
    data = event["data"]
    assert isinstance(data, dict)
    assert data["previous_pid"] == agent_pid
    assert data["exit"] == "killed by signal 9 (SIGKILL)"
    doctor = roost("doctor", "-p", str(root), "--json", timeout=90)
    report = json.loads(doctor.stdout)
    assert any(e["type"] == "dev.roost.agent.restarted" for e in report["events"]), report
    assert _supervisor(root)["restarts"] == 1


def test_down_after_the_agent_died_stops_the_replicas_it_left(root: Path) -> None:
    _up(root)
    wait_for(lambda: _ready(root), timeout=60, what="hello-r1 ready")
    replicas = _replica_pids(root)
    supervisor = int(str(_supervisor(root)["pid"]))
    agent = int(str(_json(root / ".roost" / "agent" / "agent.json")["pid"]))
    # Nothing may restart it: the supervisor goes first (its reserve ends with it).
    os.kill(supervisor, signal.SIGKILL)
    os.kill(agent, signal.SIGKILL)
    wait_for(lambda: not pid_alive(agent) and not pid_alive(supervisor), timeout=10, what="kill")
    time.sleep(0.5)
    assert all(pid_alive(pid) for pid in replicas), "replicas outlive their agent"

    down = roost("down", "-p", str(root), timeout=150)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "left running by an agent that died: hello/hello-r1" in down.stdout
    assert not [pid for pid in replicas if pid_alive(pid)]
    assert not list((root / ".roost" / "agent").glob("**/runtime/revisions/*/*/state.json"))
    # And the next `roost up` starts afresh.
    _up(root)
    wait_for(lambda: _ready(root), timeout=60, what="hello-r1 ready again")
    assert not _replica_pids(root) & replicas


def test_a_failing_start_of_up_leaves_nothing_running(root: Path) -> None:
    # An unusable setting that only the control plane reads: the agent starts, `roost serve`
    # exits with a usage error.
    up = roost("up", "-p", str(root), env={"ROOST_HEARTBEAT_GRACE": "soon"}, timeout=150)
    assert up.returncode != 0, up.stdout
    lines = up.stderr.strip().splitlines()
    assert len(lines) == 1, up.stderr
    assert lines[0].startswith("roost: error: the control plane exited with code 2")
    assert "stopped the agent this command had started, nothing is left running" in lines[0]
    assert "Traceback" not in up.stderr
    wait_for(lambda: not _running_under(root), timeout=30, what="nothing running")
    assert not (root / ".roost" / "agent" / "agent.json").exists()
    # The next, good `roost up` works.
    _up(root)
    wait_for(lambda: _ready(root), timeout=60, what="hello-r1 ready")
