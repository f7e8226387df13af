"""``routes.json``: what a restarted agent needs before the control plane says anything — per
environment, where its runtime keeps its replicas, the ports its listeners asked for and the
weights (with the fencing token that set them).

Version 2 keys everything by environment::

    {"version": 2, "environments": {"dev": {"dir": "environments/dev", "listen": {...},
     "auto": [...], "weights": {...}, "fencing": {...}}}, "seal": "<MAC>"}

A file written by an agent before environments were boundaries has the same keys at the top
level and no ``version``: it is read as the *default* environment's, with the runtime and
telemetry where that agent kept them (``dir`` ``"."``), so an upgraded agent re-adopts the
replicas that kept running and listens on the same ports with the same split.

What is loaded is checked, entry by entry, before the agent acts on it: environment names as
roost.yaml allows them, each environment's ``dir`` where the agent puts it (never a path
elsewhere), ports and weights in range; a bad entry is logged and skipped. Fencing tokens are
trusted only from a file the agent sealed itself (``seal``, a MAC with the routes key of
:mod:`roost._util.agentkeys`): a token from an unsealed or edited file — an old file holding a
token someone forged before tokens were signed, say — would lock the leader out of the router,
so it is dropped (the next signed write sets it again).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost._util.agentkeys import AgentKeys

log = logging.getLogger(__name__)

ENVIRONMENT_PATTERN = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
"""Environment names, as roost.yaml allows them: they become directory names here."""
ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
MAX_NAME = 253

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


def _name(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME and value.isprintable()


def _int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _mapping(data: dict[str, Any], key: str) -> dict[Any, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise TypeError(f"{key} is not a JSON object")
    return value


def _scope(data: Any, *, environment: str, dir: str, trusted: bool) -> SavedScope:
    """One environment's saved routes, checked (see the module doc); ``trusted``: the file
    carries the agent's own seal, so its fencing tokens count."""
    if not isinstance(data, dict):
        raise TypeError(f"environment {environment!r} is not a JSON object")
    where = f"{ROUTES_FILE} ({environment})"
    saved_dir = data.get("dir", dir)
    if saved_dir not in (dir, LEGACY_DIR):
        # Anything else could point the runtime (and `roost down`'s orphan search) anywhere.
        raise ValueError(f"{where}: dir {saved_dir!r} is not {dir!r}")
    scope = SavedScope(dir=str(saved_dir))
    for service, port in _mapping(data, "listen").items():
        if _name(service) and _int(port, 0, 65535):
            scope.listen[service] = port
        else:
            log.error("%s: ignoring listener %r: %r", where, service, port)
    auto = data.get("auto", [])
    scope.auto = {s for s in auto if _name(s)} if isinstance(auto, list) else set()
    for service, weights in _mapping(data, "weights").items():
        if (
            _name(service)
            and isinstance(weights, dict)
            and all(_name(r) and _int(w, 0, 100) for r, w in weights.items())
        ):
            scope.weights[service] = dict(weights)
        else:
            log.error("%s: ignoring the weights of %r", where, service)
    tokens = _mapping(data, "fencing")
    if tokens and not trusted:
        log.error(
            "%s: ignoring fencing tokens %s: the file does not carry this agent's seal "
            "(written by an older agent, or edited); the leader's next write sets them again",
            where,
            tokens,
        )
        return scope
    for service, token in tokens.items():
        if _name(service) and _int(token, 1, 2**63 - 1):
            scope.fencing[service] = token
        else:
            log.error("%s: ignoring fencing token %r of %r", where, token, service)
    return scope


def _payload(data: dict[str, Any]) -> bytes:
    """What the seal covers: the file's content without the seal, canonically."""
    content = {k: v for k, v in data.items() if k != "seal"}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def load_routes(
    state_dir: Path, *, default_environment: str, keys: AgentKeys | None = None
) -> dict[str, SavedScope]:
    """The saved scopes by environment, checked (see the module doc); fencing tokens only
    with the agent's ``keys`` and its seal on the file. Empty without a file; a damaged file is
    logged and ignored: it costs the saved split, never the agent."""
    path = state_dir / ROUTES_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        trusted = keys is not None and keys.sealed(_payload(data), data.get("seal"))
        if "version" not in data:
            return {
                default_environment: _scope(
                    data, environment=default_environment, dir=LEGACY_DIR, trusted=trusted
                )
            }
        scopes = {}
        for env, scope in _mapping(data, "environments").items():
            if not (isinstance(env, str) and ENVIRONMENT.match(env)):
                log.error("%s: ignoring environment %r: not an environment name", path, env)
                continue
            try:
                scopes[env] = _scope(
                    scope, environment=env, dir=environment_dir(env), trusted=trusted
                )
            except (ValueError, TypeError, AttributeError) as exc:
                log.error("%s: ignoring environment %r: %s", path, env, exc)
        return scopes
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.error("ignoring damaged %s: %s", path, exc)
        return {}


def save_routes(
    state_dir: Path, scopes: dict[str, SavedScope], *, keys: AgentKeys | None = None
) -> None:
    """Write every scope atomically (a crash leaves the old file or the new one), sealed with
    ``keys`` (an unsealed file's fencing tokens are not trusted when loaded). Mode 0600: only
    the agent's user reads or writes it."""
    path = state_dir / ROUTES_FILE
    tmp = path.with_suffix(".tmp")
    data: dict[str, Any] = {
        "version": VERSION,
        "environments": {env: scope.to_json() for env, scope in sorted(scopes.items())},
    }
    if keys is not None:
        data["seal"] = keys.seal(_payload(data))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # an older agent's tmp file may have been 0644
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
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
