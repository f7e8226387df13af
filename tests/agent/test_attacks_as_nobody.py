"""The attacks of issue 13 on the agent, as an unprivileged local user (``nobody``) against a
project started with ``roost up`` in a folder every user may traverse (a shared machine): the
agent runs no command, opens no listener and takes no fencing token from them, nothing of theirs
is saved or comes back after ``roost down``/``roost up``, and the owner's own path still works.

Real processes: roost's, and the attacker's (the system's python3, run with ``runuser``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._roost import REPO, kill_leftovers, roost

from roost.control.dataplane.agents import AgentClient

HELLO = REPO / "examples" / "hello"
SYSTEM_PYTHON = Path("/usr/bin/python3")
FORGED = 9007199254740991

pytestmark = [
    pytest.mark.timeout(360),
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("runuser") is None or not SYSTEM_PYTHON.exists(),
        reason="needs root, runuser and the system's python3 to act as the user nobody",
    ),
]

# What nobody tries, with the standard library only. The agent's URL is given (anyone finds
# the port by scanning 127.0.0.1).
ATTACK = r"""
import json, sys, urllib.error, urllib.request
root, target, url = sys.argv[1], sys.argv[2], sys.argv[3]
agent = root + "/.roost/agent/"

def put(path, body):
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="PUT",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code

def read(name):
    try:
        open(agent + name).read()
        return "read"
    except OSError as exc:
        return type(exc).__name__

env = url + "/v1/environments/dev"
print(json.dumps({
    "listener": put("/v1/environments/dev/services/evil/listener", {"port": 0}),
    "revision": put("/v1/environments/dev/services/evil/revisions/evil-r1", {
        "service": "evil", "revision": "evil-r1", "workdir": "/tmp",
        "command": ["sh", "-c", "id > " + target],
    }),
    "weights": put("/v1/environments/dev/services/hello/weights",
                   {"weights": {"hello-r1": 100}, "fencing_token": 9007199254740991}),
    "key": read("agent.key"),
    "routes": read("routes.json"),
}))
"""


@pytest.fixture
def project() -> Iterator[Path]:
    # Not under pytest's tmp_path: its 0700 folders would stop nobody before roost's own file
    # modes are put to the test.
    base = Path(tempfile.mkdtemp(prefix="roost-nobody-"))
    try:
        base.chmod(0o755)
        root = base / "hello"
        shutil.copytree(HELLO, root)
        up = roost("up", "--project", str(root), timeout=150)
        assert up.returncode == 0, up.stdout + up.stderr
        try:
            yield root
        finally:
            roost("down", "--project", str(root), timeout=150)
            kill_leftovers(root)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _as_nobody(root: Path, target: Path) -> dict[str, object]:
    url = json.loads((root / ".roost" / "agent" / "agent.json").read_text())["url"]
    command = [str(SYSTEM_PYTHON), "-c", ATTACK, str(root), str(target), url]
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def _services(root: Path) -> dict[str, object]:
    with AgentClient.for_project(root / ".roost" / "agent", timeout=10) as agent:
        services = agent.state()["environments"]["dev"]["services"]
    assert isinstance(services, dict)
    return services


def test_nobody_cannot_command_the_agent_and_nothing_of_theirs_survives_a_restart(
    project: Path,
) -> None:
    target = project.parent / "pwned"
    outcome = _as_nobody(project, target)
    assert outcome == {
        "listener": 401,
        "revision": 401,
        "weights": 401,
        "key": "PermissionError",
        "routes": "PermissionError",
    }
    # Whatever the folders' modes, the files themselves are the owner's only.
    agent_dir = project / ".roost" / "agent"
    assert stat.S_IMODE((agent_dir / "agent.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((agent_dir / "routes.json").stat().st_mode) == 0o600
    time.sleep(1.0)  # had a replica been started, it would have written by now
    assert not target.exists(), "nobody's command ran"
    routes_file = agent_dir / "routes.json"
    assert "evil" not in routes_file.read_text()
    assert str(FORGED) not in routes_file.read_text()
    assert "evil" not in _services(project)

    # The owner's path is unchanged: the control plane moves traffic with its signed token.
    moved = roost("weights", "hello", "hello-r1=100", "-p", str(project))
    assert moved.returncode == 0, moved.stdout + moved.stderr
    token = json.loads(routes_file.read_text())["environments"]["dev"]["fencing"]["hello"]
    assert 0 < token < FORGED, "the leader's write is fenced"

    down = roost("down", "--project", str(project), timeout=150)
    assert down.returncode == 0, down.stderr
    up = roost("up", "--project", str(project), timeout=150)
    assert up.returncode == 0, up.stdout + up.stderr
    services = _services(project)
    assert "evil" not in services
    assert "hello" in services
    saved = json.loads(routes_file.read_text())
    # The sealed token was restored (a new leader's token is never lower), nothing forged came.
    assert token <= saved["environments"]["dev"]["fencing"]["hello"] < FORGED
    moved = roost("weights", "hello", "hello-r1=100", "-p", str(project))
    assert moved.returncode == 0, moved.stdout + moved.stderr
