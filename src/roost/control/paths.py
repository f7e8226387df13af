"""Where a project keeps its local state, and how a running API is found.

Deliberately light (no roost.yaml parsing, no database driver) so that quick commands such as
``roost status`` start fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from roost._util.files import read_json_object

STATE_DIR = ".roost"
API_FILE = "api.json"
DEFAULT_API_PORT = 7070
AUTH_DIR = "auth"
"""Under ``.roost/``, mode 0700: the project owner's API token (``token``, mode 0600)."""
OWNER_TOKEN_FILE = "token"  # noqa: S105 (a file name)
TOKEN_ENV = "ROOST_TOKEN"  # noqa: S105 (a variable name)


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


def owner_token_path(state_dir: Path) -> Path:
    """Where ``roost serve`` saves the project owner's admin token and the CLI finds it."""
    return state_dir / AUTH_DIR / OWNER_TOKEN_FILE


def read_owner_token(state_dir: Path) -> str | None:
    """The saved owner token, or None (none saved, or unreadable by this user)."""
    try:
        text = owner_token_path(state_dir).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def write_owner_token(state_dir: Path, token: str) -> Path:
    """Save ``token`` for the CLI: the folder 0700, the file 0600 from its first byte (it is
    created with that mode, never widened), replaced atomically."""
    folder = state_dir / AUTH_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / OWNER_TOKEN_FILE
    tmp = folder / f".{OWNER_TOKEN_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (token + "\n").encode())
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
