"""Where a project keeps its local state, and how a running API is found.

Deliberately light (no roost.yaml parsing, no database driver) so that quick commands such as
``roost status`` start fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roost._util.files import read_json_object

STATE_DIR = ".roost"
API_FILE = "api.json"
DEFAULT_API_PORT = 7070


def resolve_root(project: Path | None) -> Path:
    """The directory that holds roost.yaml and ``.roost/``: the project's folder or the cwd."""
    if project is None:
        return Path.cwd()
    return project if project.is_dir() else project.parent


def write_api_file(state_dir: Path, *, url: str, pid: int, ca: str | None = None) -> Path:
    """Record where a running ``roost serve`` listens, so ``roost status`` finds it, and the
    CA file its TLS certificate chains to (when it serves https with a private CA)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / API_FILE
    tmp = path.with_suffix(".tmp")
    record: dict[str, Any] = {"url": url, "pid": pid}
    if ca is not None:
        record["ca"] = ca
    tmp.write_text(json.dumps(record) + "\n")
    tmp.replace(path)
    return path


def read_api_file(state_dir: Path) -> dict[str, Any] | None:
    return read_json_object(state_dir / API_FILE)
