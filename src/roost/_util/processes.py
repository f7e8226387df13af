"""Processes by pid: the stdlib-only checks every layer may use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists and has not exited (signal 0 probes without
    sending anything).

    A process we may not signal (``PermissionError``) still exists, so it counts as alive. A
    zombie — exited, not yet reaped by its parent (a detached ``roost serve`` waits for init)
    — does not: it answers signal 0 but will never do anything again.
    The pid may since have been reused by another process; callers that must tell the two
    apart compare start times (see ``roost.runtime.local.processes.is_alive``).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Linux: the state field of /proc/PID/stat is ``Z``; elsewhere we cannot tell (False)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses; the state follows the last ")".
    tail = stat.rpartition(")")[2].split()
    return bool(tail) and tail[0] == "Z"


def unrunnable(command: str, *, cwd: Path, path: str | None) -> str | None:
    """Why ``command`` (argv[0], relative to ``cwd`` when it has a slash, else looked up in
    ``path``) cannot be run, or None if it can: checked before spawning, so the message is
    immediate and clear instead of a failed fork."""
    if "/" in command:
        target = cwd / command
        if not target.exists():
            return f"command not found: {command}"
        if target.is_dir() or not os.access(target, os.X_OK):
            return f"permission denied: {command} is not an executable file"
        return None
    if shutil.which(command, path=path) is None:
        return f"command not found: {command} (not in PATH)"
    return None
