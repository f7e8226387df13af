"""Small state files: the stdlib-only reads every layer may use."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None where the file is missing, unreadable, not JSON or
    not an object (a state file another process may be rewriting or may never have written)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def make_private(folder: Path) -> list[Path]:
    """Take group and other permissions away from ``folder`` and everything under it that
    belongs to this user (symbolic links are not followed); the paths changed.

    roost creates its files private (``keep_files_private``), but a ``.roost/`` written by an
    older roost — or by a process started with the user's umask — may hold 0644 files in 0755
    folders: the state database, ``api.json`` and logs readable by every local user. The
    owner's own bits are kept (a virtual environment's programs stay executable)."""
    changed: list[Path] = []
    if not folder.is_dir() or folder.is_symlink():
        return changed
    uid = os.getuid()
    for path in [folder, *folder.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # removed while we walk (a rotated log, a finished tmp file)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != uid:
            continue
        mode = stat.S_IMODE(info.st_mode)
        wanted = 0o700 if stat.S_ISDIR(info.st_mode) else mode & 0o700
        if mode != wanted:
            with contextlib.suppress(FileNotFoundError):
                path.chmod(wanted)
                changed.append(path)
    return changed
