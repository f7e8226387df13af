"""Operating-system processes: identities that survive PID reuse, spawning through the shim,
waiting for processes that are not our children, signalling process groups, free ports.

A pid alone is not an identity: after a replica dies its pid can be given to an unrelated
process, and a runtime that re-adopts replicas from a state file must not signal that one.
:class:`ProcessIdentity` pairs the pid with the process's start time as psutil reports it, and
every check compares both.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from roost._util.processes import unrunnable
from roost.clock import Clock

SHIM = Path(__file__).with_name("_shim.py")
# Start-time resolution in psutil is a clock tick (10 ms); two reads of the same process agree
# exactly, this only absorbs float formatting in the state file.
_START_TIME_TOLERANCE = 0.005


@dataclass(frozen=True)
class ProcessIdentity:
    """A pid plus the process's start time (``psutil.Process.create_time()``)."""

    pid: int
    create_time: float

    def to_json(self) -> dict[str, Any]:
        """For the state file."""
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessIdentity:
        """From the state file."""
        return cls(pid=int(data["pid"]), create_time=float(data["create_time"]))


def identify(pid: int) -> ProcessIdentity | None:
    """The identity of the live process ``pid``, or None if there is none (or only a zombie)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return ProcessIdentity(pid, proc.create_time())
    except psutil.Error:
        return None


def is_alive(identity: ProcessIdentity) -> bool:
    """Whether that very process (not a later one with the same pid) still runs."""
    current = identify(identity.pid)
    return current is not None and (
        abs(current.create_time - identity.create_time) <= _START_TIME_TOLERANCE
    )


async def wait_exited(identity: ProcessIdentity, *, clock: Clock, poll: float) -> None:
    """Return when the process has exited; it need not be our child.

    Uses a pidfd (Linux ≥ 5.3), which becomes readable the moment the process exits, so the
    supervisor reacts at once; elsewhere it polls with psutil every ``poll`` seconds.
    """
    try:
        fd = os.pidfd_open(identity.pid)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ESRCH:
            return
        while is_alive(identity):
            await clock.asleep(poll)
        return
    try:
        # The pidfd refers to whatever process had the pid when it was opened: check it is ours.
        if not is_alive(identity):
            return
        loop = asyncio.get_running_loop()
        exited = loop.create_future()

        def on_exit() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(fd, on_exit)
        try:
            await exited
        finally:
            loop.remove_reader(fd)
    finally:
        os.close(fd)


def signal_group(identity: ProcessIdentity, signum: signal.Signals) -> bool:
    """Send ``signum`` to the process group led by ``identity``; False if it is already gone.

    Replicas lead their own process group (the shim starts them with ``process_group=0``), so
    this reaches the programs they started too.
    """
    if not is_alive(identity):
        return False
    try:
        os.killpg(identity.pid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        # It moved out of its group (setsid); signal at least the process itself.
        with contextlib.suppress(ProcessLookupError):
            os.kill(identity.pid, signum)
    return True


def group_rss_bytes(identity: ProcessIdentity) -> int | None:
    """Resident memory of the process and all its descendants; None if it is gone."""
    try:
        root = psutil.Process(identity.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for proc in procs:
        # A child may exit between listing and reading; it then uses no memory.
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def reap(pid: int) -> bool:
    """Collect the exit status of our child ``pid`` if it has exited; True when gone.

    The shim is started as our child, and an exited child stays a zombie until reaped. After an
    agent restart the shims are no longer our children (ECHILD): init reaps them.
    """
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done != 0


def resolve_command(command: str, *, cwd: Path, path: str | None) -> str | None:
    """Why ``command`` cannot be run, or None if it can (checked before spawning so the
    message is immediate and clear)."""
    if not cwd.is_dir():
        return f"workdir does not exist: {cwd}"
    return unrunnable(command, cwd=cwd, path=path)


def port_is_free(port: int, *, host: str) -> bool:
    """Whether a server could bind ``host:port`` now (SO_REUSEADDR, as servers set it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_free_port(*, host: str, avoid: set[int]) -> int:
    """A port the kernel says is free on ``host``, not in ``avoid`` (ports handed out already
    to replicas that may not have bound them yet)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in avoid:
            return port
    raise OSError(f"no free port found on {host}")


@dataclass(frozen=True)
class ShimFiles:
    """Where one replica's shim reads its config and writes what it learns."""

    run_dir: Path

    @property
    def child(self) -> Path:
        return self.run_dir / "child.json"

    @property
    def exit(self) -> Path:
        return self.run_dir / "exit.json"

    @property
    def shim_log(self) -> Path:
        return self.run_dir / "shim.log"


def spawn_shim(files: ShimFiles, config: dict[str, Any]) -> ProcessIdentity:
    """Start the shim for one replica run in a new session; returns the shim's identity.

    ``os.posix_spawn`` rather than ``subprocess.Popen``: a Popen object warns when it is garbage
    collected with its process still running, which is exactly what happens when a runtime
    detaches and leaves its replicas for the next one to adopt.

    The config holds the replica's environment, secrets included, so it never goes to a file:
    the shim reads it from its stdin, an in-memory file (or a pipe where there is no memfd).
    """
    files.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in (files.child, files.exit):
        stale.unlink(missing_ok=True)
    payload = json.dumps(
        {**config, "child_file": str(files.child), "exit_file": str(files.exit)}
    ).encode()
    # The run directory is only named so that `ps` shows which replica a shim serves.
    argv = [sys.executable, "-I", "-S", str(SHIM), "-", str(files.run_dir)]
    env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C.UTF-8"}
    config_fd = _config_source(payload)
    try:
        pid = os.posix_spawn(
            sys.executable,
            argv,
            env,
            setsid=True,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, config_fd, 0),
                (
                    os.POSIX_SPAWN_OPEN,
                    1,
                    str(files.shim_log),
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                    0o600,
                ),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
        )
    finally:
        os.close(config_fd)
    identity = identify(pid)
    # A shim that is already gone at this point failed before doing anything: report it as a
    # process that exists (its exit shows up as "no child.json, no exit.json").
    return identity or ProcessIdentity(pid, 0.0)


def _config_source(payload: bytes) -> int:
    """A readable descriptor that yields ``payload`` and then end of file, never on disk."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("roost-shim-config")  # close-on-exec: only the dup2'd copy passes
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        return fd
    read, write = os.pipe()

    def feed() -> None:
        # A thread: a config larger than the pipe buffer would block until the shim reads it.
        with os.fdopen(write, "wb") as out, contextlib.suppress(BrokenPipeError):
            out.write(payload)

    threading.Thread(target=feed, name="shim-config", daemon=True).start()
    return read


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file written atomically by the shim, or None if it is not there (yet)."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
