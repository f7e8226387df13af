"""Print the table of API routes and the permission each needs (for docs/security.md).

    .venv/bin/python scripts/route_permissions.py

Built from the app's own OpenAPI document (an example project serves as the workspace), the same
document tests/api/test_route_permissions.py checks.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from roost.api import create_app
from roost.api.auth.listing import markdown_table
from roost.control.workspace import open_workspace

REPO = Path(__file__).resolve().parent.parent


def table() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "canary"
        shutil.copytree(REPO / "examples" / "canary", root)
        with open_workspace(root) as ws:
            return markdown_table(create_app(ws).openapi())


if __name__ == "__main__":
    print(table())
