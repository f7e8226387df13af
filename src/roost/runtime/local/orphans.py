"""Stopping the replicas a dead runtime left behind, by their recorded identities.

A live runtime stops its own replicas. When the process that hosted it is gone (an agent killed
with ``kill -9`` and not restarted), its replicas keep running, and only the state files know
them: ``roost down`` then stops each one found there that is still *that* process (pid and start
time, as adoption checks), SIGTERM to its process group first, SIGKILL after its grace period,
and removes the revision's files, as a runtime's own stop would.

Only the replica identities are read from a state file (not the spec, whose format is the
runtime's business), so a file this code cannot fully parse still gets its processes stopped.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.runtime.local.layout import RevisionPaths, remove_revision_files
from roost.runtime.local.persisting import find_state_files
from roost.runtime.local.processes import ProcessIdentity, is_alive, signal_group
from roost.runtime.local.sealing import private_runtime_dir

DEFAULT_GRACE = 30.0
MAX_GRACE = 60.0
"""A cap on the wait: ``roost down`` must end even when a spec asks for a longer grace."""


@dataclass(frozen=True)
class Orphan:
    """One replica process left running, and where it was recorded."""

    service: str
    revision: str
    index: int
    process: ProcessIdentity
    shim: ProcessIdentity | None
    grace: float


def runtime_dirs(root: Path) -> list[Path]:
    """Every runtime state directory under ``root`` (an agent keeps one per environment)."""
    return sorted({revisions.parent for revisions in root.glob("**/runtime/revisions")})


def find_orphans(state_dir: Path) -> list[Orphan]:
    """Every recorded replica under ``state_dir`` whose very process still runs."""
    found: list[Orphan] = []
    for path in find_state_files(state_dir):
        found.extend(o for o in _recorded(path) if is_alive(o.process))
    return found


def stop_orphans(state_dir: Path, *, log_dir: Path | None = None) -> list[Orphan]:
    """Stop every replica :func:`find_orphans` finds (gracefully, then by force) and remove
    the state of every recorded revision; returns the replicas that were stopped.

    Call this only when no runtime owns ``state_dir``: a live one would restart what is
    stopped here."""
    logs = log_dir if log_dir is not None else state_dir / "logs"
    orphans = find_orphans(state_dir)
    for orphan in orphans:
        signal_group(orphan.process, signal.SIGTERM)
    deadline = time.monotonic() + max((o.grace for o in orphans), default=0.0)
    pending = list(orphans)
    while pending and time.monotonic() < deadline:
        time.sleep(0.05)
        pending = [o for o in pending if is_alive(o.process)]
    for orphan in pending:
        signal_group(orphan.process, signal.SIGKILL)
    for orphan in orphans:
        if orphan.shim is not None:
            # The shim ends with its child; one that does not is of no use to anyone.
            deadline = time.monotonic() + 2.0
            while is_alive(orphan.shim) and time.monotonic() < deadline:
                time.sleep(0.05)
            signal_group(orphan.shim, signal.SIGKILL)
    for path in find_state_files(state_dir):
        service, revision = path.parent.parent.name, path.parent.name
        paths = RevisionPaths.of(state_dir, logs, private_runtime_dir(state_dir), service, revision)
        remove_revision_files(paths)
    return orphans


def _recorded(path: Path) -> Iterable[Orphan]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    spec = data.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    grace = _number(spec.get("grace_period"), DEFAULT_GRACE)
    found = []
    for replica in data.get("replicas") or []:
        if not isinstance(replica, dict):
            continue
        process = _identity(replica.get("process"))
        if process is None:
            continue
        found.append(
            Orphan(
                service=path.parent.parent.name,
                revision=path.parent.name,
                index=int(_number(replica.get("index"), 0)),
                process=process,
                shim=_identity(replica.get("shim")),
                grace=min(grace, MAX_GRACE),
            )
        )
    return found


def _identity(data: Any) -> ProcessIdentity | None:
    if not isinstance(data, dict):
        return None
    try:
        return ProcessIdentity.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def _number(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )
