"""Scan results kept per artifact digest, so the deploy gate finds them.

::

    .roost/scans/sha256-<hex>.json     the latest ScanResult of that artifact

JSON files rather than a table: a result is written once per scan and read whole by the gate,
it is keyed by an immutable digest, and it travels with the project folder. A result is stale
when the vulnerability database was imported after it was made; the gate then scans again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from roost.artifacts.digests import hex_of
from roost.scan.scanning import ScanResult

SCANS_DIR = Path(".roost") / "scans"


def result_path(root: Path, digest: str) -> Path:
    return root / SCANS_DIR / f"sha256-{hex_of(digest)}.json"


def save_result(root: Path, result: ScanResult) -> Path | None:
    """Store ``result`` under its artifact digest (None: it was not an artifact's)."""
    if result.digest is None:
        return None
    path = result_path(root, result.digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    temp.replace(path)
    return path


def load_result(root: Path, digest: str) -> ScanResult | None:
    """The stored result for ``digest``; None if there is none (or it is unreadable)."""
    path = result_path(root, digest)
    try:
        return ScanResult.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
