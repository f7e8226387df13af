"""The embedded data plane as a user drives it: `roost up`, real replicas behind the real proxy,
weights, `roost ps`, logs with SQL, `kill -9` of the control plane under load, agent
re-adoption, `roost down`. Real processes and real HTTP throughout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._auth import owner_headers
from tests._roost import REPO, kill_leftovers, roost

from roost.control.dataplane.agents import AgentClient

HELLO = REPO / "examples" / "hello"
pytestmark = pytest.mark.timeout(360)


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "hello"
    shutil.copytree(HELLO, root)
    up = roost("up", "--project", str(root), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield root
    finally:
        roost("down", "--project", str(root), timeout=120)
        # Whatever the test did, no replica may outlive it.
        kill_leftovers(root)


def _ps(root: Path) -> dict[str, object]:
    api = _json(root / ".roost" / "api.json")["url"]
    response = httpx.get(f"{api}/api/v1/ps", headers=owner_headers(root), timeout=10)
    response.raise_for_status()
    data = response.json()
    assert isinstance(data, dict)
    return data


def _listen_url(root: Path) -> str:
    services = _ps(root)["services"]
    assert isinstance(services, dict)
    return str(services["hello"]["url"])


def _wait_ready(root: Path, revision: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services = _ps(root)["services"]
        assert isinstance(services, dict)
        for rev in services["hello"]["revisions"]:
            if rev["revision"] == revision and rev["ready_replicas"] == rev["desired_replicas"]:
                return
        time.sleep(0.2)
    raise AssertionError(f"{revision} did not become ready")


def test_up_serves_through_the_router_and_weights_move_traffic(project: Path) -> None:
    url = _listen_url(project)
    _wait_ready(project, "hello-r1")
    with httpx.Client(timeout=10) as client:
        first = client.get(url + "/")
        assert first.status_code == 200
        assert first.json()["revision"] == "hello-r1"
        assert first.headers["x-roost-revision"] == "hello-r1"

        started = roost("start", "hello", "--set-env", "HELLO_GREETING=bonjour", "-p", str(project))
        assert started.returncode == 0, started.stderr
        assert "hello-r2" in started.stdout
        _wait_ready(project, "hello-r2")
        # A new revision starts at weight 0 but is reachable by header.
        direct = client.get(url + "/", headers={"x-roost-revision": "hello-r2"})
        assert direct.json() == {"revision": "hello-r2", "greeting": "bonjour", "path": "/"}
        assert {client.get(url + "/").json()["revision"] for _ in range(20)} == {"hello-r1"}

        moved = roost("weights", "hello", "hello-r1=50", "hello-r2=50", "-p", str(project))
        assert moved.returncode == 0, moved.stderr
        seen = Counter(client.get(url + "/").json()["revision"] for _ in range(200))
        assert 60 <= seen["hello-r2"] <= 140, seen

        back = roost("weights", "hello", "hello-r1=100", "hello-r2=0", "-p", str(project))
        assert back.returncode == 0, back.stderr
        assert {client.get(url + "/").json()["revision"] for _ in range(50)} == {"hello-r1"}

    ps = roost("ps", "-p", str(project), env={"COLUMNS": "200"})
    assert ps.returncode == 0, ps.stderr
    assert ": Ready, last heartbeat" in ps.stdout  # the agent's node lease is being renewed
    assert "hello-r1" in ps.stdout
    assert "hello-r2" in ps.stdout
    assert "100%" in ps.stdout

    metrics = httpx.get(_json(project / ".roost" / "agent" / "agent.json")["url"] + "/metrics")
    assert (
        'roost_requests_total{code="2xx",code_class="2xx",environment="dev",'
        'revision="hello-r2",service="hello"}' in (metrics.text)
    )

    query = roost(
        "logs",
        "query",
        "SELECT revision, count(*) AS n FROM logs "
        "WHERE line LIKE 'INFO GET%' GROUP BY 1 ORDER BY 1",
        "-p",
        str(project),
    )
    assert query.returncode == 0, query.stderr
    assert "hello-r1" in query.stdout
    assert "hello-r2" in query.stdout

    stopped = roost("stop", "hello", "hello-r2", "-p", str(project))
    assert stopped.returncode == 0, stopped.stderr


def test_bad_requests_are_one_line_errors(project: Path) -> None:
    cases = [
        (("start", "nosuch"), "no service 'nosuch'"),
        (("weights", "hello", "hello-r1=60", "hello-r9=40"), "runs no revision 'hello-r9'"),
        (("weights", "hello", "hello-r1=60"), "add up to 60"),
        (("weights", "hello", "hello-r1=lots"), "is not REVISION=PERCENT"),
        (("stop", "hello", "hello-r1"), None),  # the only revision, with all the traffic
    ]
    for args, expected in cases:
        result = roost(*args, "-p", str(project))
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("roost: error: "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        if expected:
            assert expected in result.stderr
    # Nothing changed: hello-r1 still takes every request.
    url = _listen_url(project)
    _wait_ready(project, "hello-r1")
    assert httpx.get(url + "/", timeout=10).json()["revision"] == "hello-r1"


def test_kill_9_of_the_control_plane_drops_no_request_and_a_restart_adopts(
    project: Path,
) -> None:
    url = _listen_url(project)
    _wait_ready(project, "hello-r1")
    api_pid = int(_json(project / ".roost" / "api.json")["pid"])
    results: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set() and sum(results.values()) < 5000:
                try:
                    status = client.get(url + "/load").status_code
                    results["ok" if status == 200 else f"http {status}"] += 1
                except httpx.HTTPError as exc:
                    results[type(exc).__name__] += 1

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(1.0)
    before_kill = results["ok"]
    os.kill(api_pid, signal.SIGKILL)
    # Traffic keeps flowing after the kill: wait for a few dozen answers (not a fixed time: a
    # busy machine answers fewer requests per second).
    deadline = time.monotonic() + 60
    while results["ok"] <= before_kill + 30 and worker.is_alive():
        assert time.monotonic() < deadline, results
        time.sleep(0.1)
    stop.set()
    worker.join(timeout=30)
    assert results["ok"] > before_kill + 30, results
    assert set(results) == {"ok"}, results  # and not a single request failed

    # The data plane answers `roost ps` on its own while the control plane is gone ...
    (project / ".roost" / "api.json").unlink()
    alone = roost("ps", "-p", str(project), env={"COLUMNS": "200"})
    assert alone.returncode == 0, alone.stderr
    assert "control plane is not running" in alone.stdout
    # ... and a restarted control plane adopts the running revision instead of restarting it.
    pids = {r["pid"] for r in _ps_agent(project)["services"]["hello"]["revisions"][0]["replicas"]}
    again = roost("up", "-p", str(project), timeout=120)
    assert again.returncode == 0, again.stderr
    events = roost("events", "-p", str(project), "--type", "dev.roost.control.adopted", "--json")
    assert "hello/hello-r1" in events.stdout
    after = {r["pid"] for r in _ps(project)["services"]["hello"]["revisions"][0]["replicas"]}
    assert after == pids


def _ps_agent(root: Path) -> dict[str, object]:
    """The agent's own view of the first (only) environment."""
    with AgentClient.for_project(root / ".roost" / "agent", timeout=10) as agent:
        data = agent.state()
    assert isinstance(data, dict)
    (scope,) = data["environments"].values()
    assert isinstance(scope, dict)
    return scope


def test_a_killed_agent_is_replaced_and_adopts_its_replicas(project: Path) -> None:
    _wait_ready(project, "hello-r1")
    url = _listen_url(project)
    agent_file = project / ".roost" / "agent" / "agent.json"
    before = _ps_agent(project)["services"]["hello"]
    pids = {r["pid"] for r in before["revisions"][0]["replicas"]}
    os.kill(int(_json(agent_file)["pid"]), signal.SIGKILL)
    time.sleep(0.5)
    assert all(_pid_alive(pid) for pid in pids), "replicas must outlive their agent"
    again = roost("up", "-p", str(project), timeout=120)
    assert again.returncode == 0, again.stderr
    after = _ps_agent(project)["services"]["hello"]
    assert {r["pid"] for r in after["revisions"][0]["replicas"]} == pids
    assert after["url"] == url, "the router listens on the same port again"
    assert after["weights"] == before["weights"]
    _wait_ready(project, "hello-r1")
    assert httpx.get(url + "/", timeout=10).json()["revision"] == "hello-r1"
