"""No secret value at rest in roost's own files, and nothing roost writes readable by others.

Real processes: ``roost up`` of a project whose service takes a secret from the environment,
a deploy of a release with a rotated secret, a rollback to the first one, a ``kill -9`` of the
agent and ``roost up`` (the new agent adopts; a replica that then dies is restarted with its
secret), ``roost down`` + ``roost up``. After each stage, no file under ``.roost/`` — the state
database, its WAL, logs, runtime state, serve and agent logs — contains either secret value,
every file there is 0600 (or tighter) and every directory 0700.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import time
from pathlib import Path

import httpx
import psutil
import pytest
from tests._auth import owner_headers
from tests._canary import Load, api, router_url, wait_for, write_project
from tests._roost import kill_leftovers, roost

from roost.runtime.local.sealing import default_key_file

# Long and random-looking, so that finding one in a file can only mean it was written there.
SECRETS = {
    "ROOST_TEST_TOKEN_A": "tok-A-5f0c2b9e41d7a3c8e6b1f4d2a9c7e0b3",
    "ROOST_TEST_TOKEN_B": "tok-B-9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
}


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def _leaks(root: Path) -> list[str]:
    """Every file under .roost/ holding a secret value, and every entry others may read."""
    found = []
    for path in sorted((root / ".roost").rglob("*")):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            if mode != 0o700:
                found.append(f"{path}: directory mode {mode:o}, not 700")
            continue
        if mode & 0o077:
            found.append(f"{path}: mode {mode:o}, readable by others")
        data = path.read_bytes()
        for name, value in SECRETS.items():
            if value.encode() in data:
                found.append(f"{path}: holds the value of {name}")
    return found


def _config(root: Path) -> dict[str, object]:
    def answer() -> dict[str, object] | None:
        try:
            response = httpx.get(router_url(root) + "/config", timeout=10)
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    return dict(wait_for(answer, timeout=60, what="an answer through the router"))


def _runtime_dir(root: Path) -> Path:
    """The dev environment's runtime state directory."""
    return root / ".roost" / "agent" / "environments" / "dev" / "runtime"


def _replica_pid(root: Path, revision: str) -> int | None:
    """The pid of the revision's replica 0 (None between two runs)."""
    state = _runtime_dir(root) / "revisions" / "web" / revision / "state.json"
    process = json.loads(state.read_text())["replicas"][0]["process"]
    return int(process["pid"]) if process else None


def _up(root: Path) -> None:
    up = roost("up", "--project", str(root), env=SECRETS, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr


@pytest.mark.timeout(420)
def test_no_secret_value_at_rest_after_deploy_rollback_and_restarts(tmp_path: Path) -> None:
    root = tmp_path / "canary"
    p = ("-p", str(root))
    write_project(root, token="ROOST_TEST_TOKEN_A")
    try:
        _up(root)
        assert _config(root)["token_sha256"] == _fingerprint(SECRETS["ROOST_TEST_TOKEN_A"])
        assert os.stat(root / ".roost").st_mode & 0o077 == 0
        assert _leaks(root) == []

        # A release with a rotated secret, promoted.
        write_project(root, greeting="v2", token="ROOST_TEST_TOKEN_B")
        with Load(router_url(root)):  # the canary's analysis needs requests
            deployed = roost("deploy", "web", *p, "--as", "alice", env=SECRETS, timeout=180)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert _config(root)["token_sha256"] == _fingerprint(SECRETS["ROOST_TEST_TOKEN_B"])
        assert _leaks(root) == []

        # Rollback: the first release comes back with its own secret.
        with Load(router_url(root)):
            back = roost("rollback", "web", "--fast", *p, "--as", "bob", env=SECRETS, timeout=180)
        assert back.returncode == 0, back.stdout + back.stderr
        wait_for(lambda: _config(root)["revision"] == "web-r1", timeout=60, what="web-r1 serving")
        assert _config(root)["token_sha256"] == _fingerprint(SECRETS["ROOST_TEST_TOKEN_A"])
        assert _leaks(root) == []

        # The agent dies; `roost up` starts a new one, which adopts web-r1's replica. When that
        # replica dies, the new agent restarts it with its secret: it unsealed it.
        agent_pid = json.loads((root / ".roost" / "agent" / "agent.json").read_text())["pid"]
        os.kill(agent_pid, signal.SIGKILL)
        wait_for(
            lambda: (
                not psutil.pid_exists(agent_pid)
                or psutil.Process(agent_pid).status() == psutil.STATUS_ZOMBIE
            ),
            timeout=30,
            what="the agent to die",
        )
        _up(root)
        replica = _replica_pid(root, "web-r1")
        assert replica is not None
        os.killpg(replica, signal.SIGKILL)
        wait_for(
            lambda: _replica_pid(root, "web-r1") not in (None, replica),
            timeout=60,
            what="the adopted replica to be restarted",
        )
        time.sleep(0.5)
        config = _config(root)
        assert config["revision"] == "web-r1"
        assert config["token_sha256"] == _fingerprint(SECRETS["ROOST_TEST_TOKEN_A"])
        assert _leaks(root) == []

        # The key that seals them lives outside the project, for this user only…
        key_file = default_key_file(_runtime_dir(root))
        assert not key_file.is_relative_to(root)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

        # roost down + up: the whole of roost restarts.
        down = roost("down", *p, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
        assert _leaks(root) == []
        # …and goes with the last revision.
        assert not key_file.exists()
        _up(root)
        assert _config(root)["token_sha256"] == _fingerprint(SECRETS["ROOST_TEST_TOKEN_A"])
        assert _leaks(root) == []
        # The API answers with secret *versions* (digest pins), never values.
        history = httpx.get(
            api(root) + "/api/v1/services/web/history", headers=owner_headers(root), timeout=10
        ).text
        assert all(value not in history for value in SECRETS.values())
    finally:
        roost("down", *p, timeout=120)
        kill_leftovers(root)
