"""Small real projects for end-to-end tests: one ``web`` service running an example app, its
readiness probe on ``/healthz``, set up in a temporary folder and torn down with ``roost down``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests._canary import CANARY
from tests._roost import kill_leftovers, roost

WEB = """\
  - name: web
    command: python3 app.py
    listen: auto
    replicas: 1
    probes:
      readiness:
        http:
          path: /healthz
        period: 1s
"""


def web_project(name: str, *, environments: str = "  dev: {}\n", web: str = "") -> str:
    """roost.yaml text: project ``name``, ``environments`` (indented), and the ``web`` service
    with ``web`` (indented as its keys) appended."""
    return f"project: {name}\nversion: 1\nenvironments:\n{environments}services:\n{WEB}{web}"


def make_project(root: Path, text: str, *, app: Path = CANARY / "app.py") -> Path:
    """Create ``root`` with ``app`` as its app.py and ``text`` as its roost.yaml."""
    root.mkdir()
    shutil.copy(app, root / "app.py")
    (root / "roost.yaml").write_text(text)
    return root


@contextmanager
def project_down(root: Path, *, env: dict[str, str] | None = None) -> Iterator[Path]:
    """Yield ``root``; afterwards ``roost down`` it and kill what it left behind."""
    try:
        yield root
    finally:
        roost("down", "-p", str(root), env=env, timeout=60)
        kill_leftovers(root)
