"""Credentials for tests that call the roost API themselves.

Every ``/api/v1`` route needs one. A real ``roost serve`` saves the project owner's admin token
in ``.roost/auth/token`` (:func:`owner_headers` reads it; the ``roost`` CLI finds it itself); an
in-process app (``create_app(ws)``) gets tokens made straight in its store
(:func:`admin_headers`, :func:`make_token`).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from roost.api.auth import new_token, token_hash
from roost.control.paths import STATE_DIR, read_owner_token
from roost.store import Store

_names = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def owner_token(root: Path) -> str:
    """The admin token ``roost serve`` saved for the project in ``root``."""
    token = read_owner_token(root / STATE_DIR)
    assert token is not None, f"no owner token saved under {root / STATE_DIR} (is roost serve up?)"
    return token


def owner_headers(root: Path) -> dict[str, str]:
    return bearer(owner_token(root))


def make_token(
    store: Store,
    name: str | None = None,
    *,
    role: str | None = "admin",
    environment: str = "*",
    service: str = "*",
) -> str:
    """A token with one role binding (``role=None``: none at all), made directly in
    ``store``; returns the token."""
    token = new_token()
    store.tokens.create(
        name or f"test-{role or 'nobody'}-{next(_names)}",
        token_hash=token_hash(token),
        created_by="tests",
        bindings=[] if role is None else [(role, environment, service)],
    )
    return token


def admin_headers(store: Store, name: str | None = None) -> dict[str, str]:
    """Headers of a fresh admin token (every permission, every environment)."""
    return bearer(make_token(store, name, role="admin"))


def cli_token(root: Path, name: str, role: str, *, environment: str = "*") -> dict[str, str]:
    """``roost token create`` through the CLI (as the owner); the env that makes later
    ``roost`` commands run as that token."""
    from tests._roost import roost

    made = roost(
        "token", "create", name, "--role", role, "--env", environment, "-p", str(root), "--json"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    token = json.loads(made.stdout)["token"]
    assert isinstance(token, str)
    return {"ROOST_TOKEN": token}
