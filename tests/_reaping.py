"""Killing what a test started, and only that.

Tests run in parallel (pytest-xdist): another test's replicas, a session's etcd or PostgreSQL,
another worker's `roost serve` all run beside this test's processes. So a clean-up never kills
by name or by "every child of this process": it kills processes it can identify as this
test's, by a recorded identity (pid plus start time, since pids are reused) —

* :class:`Descendants`: the processes that became descendants of the test process *while the
  test ran* (a snapshot before, a diff after; one xdist worker runs one test at a time);
* :func:`recorded_in`: the replicas and shims a runtime recorded in its ``state.json`` files;
* :func:`mentioning`: processes whose command line names the test's own temporary directory.

:func:`reap` kills them (their process group too when they lead one, as replicas and shims do),
waits for them and collects the exit status of our own children.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterable
from pathlib import Path

import psutil

Identity = tuple[int, float]
"""(pid, create_time)."""

_SAME_START = 1.0
"""How far two create_time readings of one process may differ (psutil rounds to clock ticks)."""


def identity(proc: psutil.Process) -> Identity | None:
    with contextlib.suppress(psutil.Error):
        return (proc.pid, proc.create_time())
    return None


def _descendants() -> dict[Identity, psutil.Process]:
    found: dict[Identity, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=True):
            ident = identity(child)
            if ident is not None:
                found[ident] = child
    return found


class Descendants:
    """Remembers this process's descendants now; :meth:`new` lists those that appeared since."""

    def __init__(self) -> None:
        self._before = set(_descendants())

    def new(self) -> list[psutil.Process]:
        return [proc for ident, proc in _descendants().items() if ident not in self._before]


def same(pid: int, create_time: float | None) -> psutil.Process | None:
    """The process ``pid`` if it is still the one that started at ``create_time``."""
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > _SAME_START:
            return None
        return proc
    except psutil.Error:
        return None


def recorded_in(directory: Path) -> list[psutil.Process]:
    """The replicas and shims recorded in the runtime ``state.json`` files under ``directory``
    that still run (same pid and start time as recorded)."""
    found: list[psutil.Process] = []
    for state in directory.glob("**/state.json"):
        try:
            replicas = json.loads(state.read_text()).get("replicas", [])
        except (OSError, ValueError, AttributeError):
            continue
        for replica in replicas if isinstance(replicas, list) else []:
            for part in ("process", "shim"):
                ident = replica.get(part) if isinstance(replica, dict) else None
                if isinstance(ident, dict) and isinstance(ident.get("pid"), int):
                    created = ident.get("create_time")
                    proc = same(
                        ident["pid"], float(created) if isinstance(created, int | float) else None
                    )
                    if proc is not None:
                        found.append(proc)
    return found


def mentioning(directory: Path) -> list[psutil.Process]:
    """Processes of this user whose command line names ``directory`` (a per-test temporary
    directory, so nothing of another test's), with their descendants."""
    exact, inside = str(directory), f"{directory}{os.sep}"  # not test_x01's for test_x0
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["cmdline", "uids"]):
        uids = proc.info.get("uids")
        if uids is not None and uids.real != os.getuid():
            continue
        if any(exact == part or inside in part for part in proc.info.get("cmdline") or []):
            found.append(proc)
            with contextlib.suppress(psutil.Error):
                found.extend(proc.children(recursive=True))
    return found


def reap(procs: Iterable[psutil.Process], *, timeout: float = 5) -> None:
    """SIGKILL each process, and its process group when it leads one; wait for them."""
    doomed = {ident: proc for proc in procs if (ident := identity(proc)) is not None}
    for proc in doomed.values():
        with contextlib.suppress(psutil.Error, OSError):
            # Only a group this process leads: killpg(pid) of a non-leader could hit a group
            # that some unrelated process leads after pid reuse.
            if os.getpgid(proc.pid) == proc.pid and proc.is_running():
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.Error):
            proc.kill()  # psutil checks the start time: never a reused pid
    psutil.wait_procs(list(doomed.values()), timeout=timeout)
    for pid, _ in doomed:  # our own children: collect the exit status (no zombies)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
