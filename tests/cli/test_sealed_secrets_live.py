"""Done when: a secret set with ``roost secret set`` reaches the replica, and its value is in no
file of the project or the key folder, no database dump, no event and no API response.

Real processes: ``roost secret set`` (the value on stdin), ``roost up``, a second version and a
``roost deploy`` whose shell exports a new ``env:`` secret that the running control plane has
never seen (it was started by ``roost up`` with the old one), then ``roost rollback``. The
replica is a small app that answers with the sha256 and length of each secret it got. Run on
SQLite (``.dump``) and on a real PostgreSQL (``pg_dump``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests._auth import owner_headers
from tests._canary import wait_for
from tests._postgres import PG_BIN
from tests._roost import kill_leftovers

APP = """\
import hashlib, http.server, json, os

NAMES = ("APP_TOKEN", "DEPLOY_TOKEN")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "revision": os.environ.get("ROOST_REVISION"),
            **{n: {"sha256": hashlib.sha256(os.environ.get(n, "").encode()).hexdigest(),
                   "length": len(os.environ.get(n, ""))} for n in NAMES},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

PROJECT = """\
project: sealed
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 app.py
    listen: auto
    secrets:
      - name: APP_TOKEN
        from: roost:app_token
      - name: DEPLOY_TOKEN
        from: env:LIVE_DEPLOY_TOKEN
"""

# Long and random-looking: finding one anywhere can only mean roost wrote it there.
STORED_1 = "st1-7c1e0a9b52d84f36a1e9c0b7d2f5e8a3"
STORED_2 = "st2-0f4b8e2d6c1a9357e0d4b8f2a6c1e937"
EXPORTED_1 = "ex1-b53a9d7e1c0f2468ac9e1b3d5f7a0c2e"
EXPORTED_2 = "ex2-94e0c7a1b3d5f2e8604a9c1e7b3d5f0a"
VALUES = (STORED_1, STORED_2, EXPORTED_1, EXPORTED_2)


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Project:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.outputs: list[str] = []

    def roost(self, *args: str, stdin: str | None = None, **env: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "roost", *args, "--project", str(self.root)],
            input=stdin,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, f"roost {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    @property
    def api(self) -> str:
        return str(json.loads((self.root / ".roost" / "api.json").read_text())["url"])

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.api + path, headers=owner_headers(self.root), timeout=30)

    def replica(self) -> dict[str, Any]:
        url = self.get("/api/v1/ps").json()["services"]["web"]["url"]
        return dict(httpx.get(url, timeout=10).json())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    root = tmp_path / "sealed"
    root.mkdir()
    (root / "roost.yaml").write_text(PROJECT)
    (root / "app.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env.update({"COLUMNS": "200", "ROOST_KEY_DIR": str(tmp_path / "keys")})
    if request.param == "postgres":
        env["ROOST_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    opened = Project(root, env)
    try:
        yield opened
    finally:
        subprocess.run(
            [sys.executable, "-m", "roost", "down", "--project", str(root)],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        kill_leftovers(root)


def _serving(project: Project, stored: str, exported: str) -> None:
    def check() -> bool:
        try:
            # Until a replica is ready the router answers for itself (no secrets in that).
            answer = project.replica()
            return bool(
                answer["APP_TOKEN"]["sha256"] == _sha(stored)
                and answer["DEPLOY_TOKEN"]["sha256"] == _sha(exported)
            )
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            return False

    wait_for(check, timeout=90, what="the replica to answer with the expected secrets")
    answer = project.replica()
    assert answer["APP_TOKEN"]["length"] == len(stored)


def _files_holding_values(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                found += [f"{path}: {v[:3]}" for v in VALUES if v.encode() in data]
    return found


def _open_to_others(state: Path) -> list[str]:
    found = []
    for path in [state, *state.rglob("*")]:
        if path.is_symlink():
            continue
        if stat.S_IMODE(path.lstat().st_mode) & 0o077:
            found.append(f"{path}: {stat.S_IMODE(path.lstat().st_mode):o}")
    return found


def _database_dump(project: Project) -> str:
    url = project.env.get("ROOST_DATABASE_URL")
    if url is None:
        with sqlite3.connect(project.root / ".roost" / "state.db") as conn:
            return "\n".join(conn.iterdump())
    parts = urlsplit(url)
    dumped = subprocess.run(
        [
            str(PG_BIN / "pg_dump"),
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port),
            "-U",
            parts.username or "postgres",
            parts.path.lstrip("/"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "secret_versions" in dumped.stdout
    return dumped.stdout


def _api_answers(project: Project) -> str:
    """Every GET route of the OpenAPI document that can be filled in, answered."""
    rollout = project.get("/api/v1/rollouts/find/web").json()["id"]
    fill = {"service": "web", "release_id": "web-r2", "rollout_id": rollout, "what": "web"}
    answers = []
    answered = 0
    for path, methods in project.get("/openapi.json").json()["paths"].items():
        if "get" not in methods:
            continue
        try:
            concrete = path.format(**fill)
        except KeyError:
            continue
        answer = project.get(concrete)
        assert answer.status_code < 500, f"{concrete}: {answer.status_code}"
        answered += answer.status_code == 200
        answers.append(f"{path}: {answer.text}")
    assert answered > 10  # with a credential: real answers, not a wall of 401s
    return "\n".join(answers)


@pytest.mark.timeout(600)
def test_a_set_secret_reaches_the_replica_and_nothing_else(project: Project) -> None:
    project.roost("secret", "set", "app_token", stdin=STORED_1 + "\n")
    project.roost("up", LIVE_DEPLOY_TOKEN=EXPORTED_1)
    _serving(project, STORED_1, EXPORTED_1)

    # A new version, and a deploy from a shell that exports a new value: the control plane
    # (started by `up` with EXPORTED_1 in its environment) seals what the deploying user has.
    project.roost("secret", "set", "app_token", stdin=STORED_2)
    project.roost("deploy", "web", LIVE_DEPLOY_TOKEN=EXPORTED_2)
    _serving(project, STORED_2, EXPORTED_2)
    versions = project.roost("secret", "versions", "app_token")
    assert "hmac-sha256:" in versions

    # A rollback restores the secrets web-r1 pinned, with no secret in the rolling-back shell.
    project.roost("rollback", "web", "--fast")
    _serving(project, STORED_1, EXPORTED_1)

    key_folder = Path(project.env["ROOST_KEY_DIR"])
    assert list(key_folder.glob("*.secrets.key"))
    assert _files_holding_values(project.root, key_folder) == []
    assert _open_to_others(project.root / ".roost") == []
    dump = _database_dump(project)
    events = project.roost("events", "--json", "--limit", "1000")
    answers = _api_answers(project)
    release = project.get("/api/v1/releases/web-r2").json()
    assert release["secrets"]["APP_TOKEN"]["version"] == 2
    assert release["secrets"]["APP_TOKEN"]["digest"].startswith("hmac-sha256:")
    for value in VALUES:
        for where, text in (("dump", dump), ("events", events), ("API", answers)):
            assert value not in text, f"a secret value is in the {where}"
            assert _sha(value) not in text, f"a plain sha256 of a secret is in the {where}"
        assert all(value not in output for output in project.outputs)
