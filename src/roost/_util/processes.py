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


USER_UMASK_ENV = "ROOST_USER_UMASK"
"""The umask the user had before roost made its own files private (octal text)."""


def keep_files_private() -> None:
    """Make every file this roost process (and the roost processes it starts) creates readable
    by this user only: ``.roost/`` holds the state database, logs, artifacts and runtime state.

    The user's own umask is remembered in ``$ROOST_USER_UMASK`` (inherited by child roost
    processes, so the first one wins) for the programs roost runs on the user's behalf —
    replicas, build steps — whose files are theirs to share (see :func:`user_umask`).
    """
    previous = os.umask(0o077)
    os.environ.setdefault(USER_UMASK_ENV, f"{previous:04o}")


def user_umask() -> int:
    """The umask for a program roost runs for the user; -1 (keep the current one) when roost
    did not change it."""
    raw = os.environ.get(USER_UMASK_ENV, "")
    try:
        value = int(raw, 8)
    except ValueError:
        return -1
    return value if 0 <= value <= 0o777 else -1
