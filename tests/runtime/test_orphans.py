"""Stopping the replicas a dead runtime left, by their recorded identities (what `roost down`
does after the agent died): real processes, state files as the runtime writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.runtime.local.orphans import find_orphans, stop_orphans
from roost.runtime.local.processes import ProcessIdentity, identify, is_alive

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _replica(procs: list[subprocess.Popen[bytes]], *, ignore_term: bool = False) -> ProcessIdentity:
    """A process leading its own group, as the shim starts replicas."""
    code = "import signal, time\n"
    if ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('up', flush=True)\ntime.sleep(120)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, process_group=0)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"  # its SIGTERM disposition is set
    procs.append(proc)
    identity = identify(proc.pid)
    assert identity is not None
    return identity


def _record(state_dir: Path, service: str, revision: str, *replicas: ProcessIdentity) -> Path:
    path = state_dir / "revisions" / service / revision / "state.json"
    path.parent.mkdir(parents=True)
    data = {
        "version": 1,
        "spec": {"service": service, "revision": revision, "grace_period": 0.5},
        "desired_replicas": len(replicas),
        "replicas": [
            {"index": i, "port": 1, "shim": None, "process": r.to_json(), "restarts": 0}
            for i, r in enumerate(replicas)
        ],
    }
    path.write_text(json.dumps(data))
    return path


def test_recorded_replicas_are_stopped_gracefully_or_by_force_and_forgotten(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    polite, stubborn = _replica(procs), _replica(procs, ignore_term=True)
    state = _record(tmp_path, "web", "web-r1", polite, stubborn)
    assert {o.process for o in find_orphans(tmp_path)} == {polite, stubborn}

    stopped = stop_orphans(tmp_path)

    assert {(o.service, o.revision, o.process) for o in stopped} == {
        ("web", "web-r1", polite),
        ("web", "web-r1", stubborn),
    }
    assert procs[0].wait(timeout=10) == -15  # SIGTERM was enough
    assert procs[1].wait(timeout=10) == -9  # ignored it: SIGKILL after the grace period
    assert not state.exists()
    assert find_orphans(tmp_path) == []


def test_a_reused_pid_is_not_signalled(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    other = _replica(procs)
    # The record names this pid, but a process that started at another time.
    _record(tmp_path, "web", "web-r1", ProcessIdentity(other.pid, other.create_time - 100))
    assert stop_orphans(tmp_path) == []
    assert is_alive(other)


def test_a_damaged_state_file_stops_nothing_and_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "revisions" / "web" / "web-r1" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert stop_orphans(tmp_path) == []
    assert not path.exists()
