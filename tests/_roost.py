"""Helpers for tests that drive roost as a user does: the real `roost` entry point in a
subprocess, and a real `roost serve` on an ephemeral port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "shop" / "roost.yaml"


def roost(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m roost ARGS` and capture its output."""
    # A developer's own ROOST_DATABASE_URL must not leak into tests; they pass one explicitly.
    full_env = {k: v for k, v in os.environ.items() if k != "ROOST_DATABASE_URL"}
    full_env.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "roost", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    root: Path


@contextmanager
def serving(root: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start `roost serve --port 0` for the project in ``root``; stop it (SIGTERM) afterwards."""
    full_env = {**os.environ, **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "roost", "serve", "--project", str(root), "--port", "0", *extra],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api_file = root / ".roost" / "api.json"
    try:
        deadline = time.monotonic() + 120  # generous: the machine may be busy
        while not api_file.exists():
            if process.poll() is not None:
                out = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"roost serve exited with {process.returncode}: {out}")
            if time.monotonic() > deadline:
                raise AssertionError("roost serve did not start within 120 s")
            time.sleep(0.05)
        url = json.loads(api_file.read_text())["url"]
        yield Served(process=process, url=url, root=root)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                # Generous: a loaded machine stretches the ~2 s graceful stop, and a kill would
                # lose the events a test reads after the stop (api.stopped).
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()


def kill_leftovers(root: Path) -> None:
    """After ``roost down``: SIGKILL whatever of ``root``'s control plane, agent and replicas
    still runs (a test that killed the agent leaves replicas that no ``roost down`` can reach;
    a ``roost down`` that failed or timed out leaves everything). Each replica runs in its own
    process group and its shim in its own session, so both groups are killed; a pid is only
    killed while it is still the process that was recorded (pids are reused)."""
    from tests._reaping import reap, recorded_in, same

    state = root / ".roost"
    # Every environment's runtime: .roost/agent/environments/ENV/runtime (runtime/ before).
    found = recorded_in(state / "agent")
    # api.json and agent.json record no start time: the pid must still be a `roost serve` /
    # `roost agent` (a reused pid is almost never one).
    # The agent's supervisor leads the process group of its agents (the live one, the reserve).
    records = (
        (state / "api.json", "serve"),
        (state / "agent" / "supervisor.json", "roost.agent.supervising"),
        (state / "agent" / "agent.json", "agent"),
    )
    for record, role in records:
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if not (isinstance(data, dict) and isinstance(data.get("pid"), int)):
            continue
        proc = same(data["pid"], None)
        try:
            if proc is not None and role in proc.cmdline():
                found.append(proc)
        except psutil.Error:
            pass
    reap(found)
