"""``routes.json``: what a restarted agent needs before the control plane says anything — per
environment, where its runtime keeps its replicas, the ports its listeners asked for and the
weights (with the fencing token that set them).

Version 2 keys everything by environment::

    {"version": 2, "environments": {"dev": {"dir": "environments/dev", "listen": {...},
     "auto": [...], "weights": {...}, "fencing": {...}}}}

A file written by an agent before environments were boundaries has the same keys at the top
level and no ``version``: it is read as the *default* environment's, with the runtime and
telemetry where that agent kept them (``dir`` ``"."``), so an upgraded agent re-adopts the
replicas that kept running and listens on the same ports with the same split.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROUTES_FILE = "routes.json"
VERSION = 2
LEGACY_DIR = "."
"""Where an agent before version 2 kept its runtime (``runtime/``) and telemetry."""


def environment_dir(environment: str) -> str:
    """Where a new environment keeps its runtime and telemetry, relative to the state dir."""
    return f"environments/{environment}"


@dataclass
class SavedScope:
    """One environment's saved routes."""

    dir: str
    listen: dict[str, int] = field(default_factory=dict)
    # Services whose port roost picked: after a restart the agent asks for the same port again
    # (clients know it), and only falls back to a new one if another program took it.
    auto: set[str] = field(default_factory=set)
    weights: dict[str, dict[str, int]] = field(default_factory=dict)
    fencing: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "listen": self.listen,
            "auto": sorted(self.auto),
            "weights": self.weights,
            "fencing": self.fencing,
        }


def _scope(data: Any, *, dir: str) -> SavedScope:
    return SavedScope(
        dir=str(data.get("dir", dir)),
        listen={str(k): int(v) for k, v in data.get("listen", {}).items()},
        auto={str(s) for s in data.get("auto", [])},
        weights={
            str(s): {str(r): int(w) for r, w in ws.items()}
            for s, ws in data.get("weights", {}).items()
        },
        fencing={str(k): int(v) for k, v in data.get("fencing", {}).items()},
    )


def load_routes(state_dir: Path, *, default_environment: str) -> dict[str, SavedScope]:
    """The saved scopes by environment (empty without a file; a damaged file is logged and
    ignored: it costs the saved split, never the agent)."""
    path = state_dir / ROUTES_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        if "version" not in data:
            return {default_environment: _scope(data, dir=LEGACY_DIR)}
        return {
            str(env): _scope(scope, dir=environment_dir(str(env)))
            for env, scope in data.get("environments", {}).items()
        }
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.error("ignoring damaged %s: %s", path, exc)
        return {}


def save_routes(state_dir: Path, scopes: dict[str, SavedScope]) -> None:
    """Write every scope atomically (a crash leaves the old file or the new one)."""
    path = state_dir / ROUTES_FILE
    tmp = path.with_suffix(".tmp")
    data = {
        "version": VERSION,
        "environments": {env: scope.to_json() for env, scope in sorted(scopes.items())},
    }
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def runtime_dirs(state_dir: Path, *, default_environment: str) -> dict[str, Path]:
    """Each environment's runtime directory (replica state under ``revisions/``, logs under
    ``logs/``), by environment: read from ``routes.json`` so that tools find every replica
    and log without a running agent. A runtime left by an agent from before environments is
    the default environment's."""
    scopes = load_routes(state_dir, default_environment=default_environment)
    if (state_dir / "runtime").is_dir() and all(s.dir != LEGACY_DIR for s in scopes.values()):
        scopes.setdefault(default_environment, SavedScope(dir=LEGACY_DIR))
    return {env: state_dir / scope.dir / "runtime" for env, scope in scopes.items()}


def log_dirs(state_dir: Path, *, default_environment: str) -> dict[str, Path]:
    """Where each environment's replicas write their logs, by environment."""
    dirs = runtime_dirs(state_dir, default_environment=default_environment)
    return {env: runtime / "logs" for env, runtime in dirs.items()}
