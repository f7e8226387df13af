"""Small state files: the stdlib-only reads every layer may use."""

from __future__ import annotations

import json
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
