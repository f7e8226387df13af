"""Saving the embedded store to a file and reading it back, so an agent restart keeps history.

The format is gzip-compressed JSON: stdlib only, readable with ``zcat | jq`` when something
looks wrong, and small (a busy revision's week is a few MB). The file is written to a temporary
name and renamed over the old one, so a crash mid-write never leaves a torn snapshot behind.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any, Final

#: Written into every snapshot; a reader refuses any other value rather than guess.
FORMAT: Final = "roost-telemetry/1"


class SnapshotError(Exception):
    """A snapshot file that cannot be read: missing, corrupt, or of another format."""


def write_snapshot(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write ``payload`` (plus the format marker) to ``path`` atomically."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    body = json.dumps({"format": FORMAT, **payload}, separators=(",", ":")).encode()
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(body)
            gz.flush()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def read_snapshot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a snapshot written by :func:`write_snapshot`; raises :class:`SnapshotError`."""
    try:
        with gzip.open(path, "rb") as gz:
            data = json.loads(gz.read())
    except FileNotFoundError as exc:
        raise SnapshotError(f"no telemetry snapshot at {path}") from exc
    except (OSError, EOFError, ValueError) as exc:
        raise SnapshotError(f"telemetry snapshot {path} is unreadable: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise SnapshotError(f"{path} is not a {FORMAT} snapshot (format: {found!r})")
    return data
