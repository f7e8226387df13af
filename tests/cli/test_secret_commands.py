"""``roost secret set|list|versions|rotate-key`` as a user runs them: values in through stdin
or a file only, never out; unknown names refused by ``roost validate``."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from roost._util import event_catalog
from roost.control.releases.vault import vault_of
from roost.control.workspace import open_workspace

PROJECT = """\
project: secrets
version: 1
environments:
  dev: {}
  production: {}
services:
  - name: web
    command: python3 app.py
    secrets:
      - name: DB_PASSWORD
        from: roost:db_password
"""
VALUE = "pw-3b1f9e0c7a5d2e48b6c0f1a9"


def _roost(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ROOST_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "roost", *args],
        cwd=root,
        input=stdin,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # This test's key folder, for the roost processes and for the checks made in-process.
    monkeypatch.setenv("ROOST_KEY_DIR", str(tmp_path / "keys"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "roost.yaml").write_text(PROJECT)
    return project


def test_values_go_in_through_stdin_or_a_file_and_never_come_out(root: Path) -> None:
    # Not as an argument: argv is readable by every user of the machine.
    argv = _roost(root, "secret", "set", "db_password", VALUE)
    assert argv.returncode == 2
    assert "never from the command line" in argv.stderr
    assert VALUE not in argv.stdout + argv.stderr
    done = _roost(root, "secret", "set", "db_password", stdin=VALUE + "\n")
    assert done.returncode == 0, done.stderr
    assert "version 1" in done.stdout
    (root.parent / "value.txt").write_text("prod-" + VALUE)
    scoped = _roost(
        root, "secret", "set", "db_password", "--env", "production", "--from-file", "../value.txt"
    )
    assert scoped.returncode == 0, scoped.stderr
    assert "version 2 (for production)" in scoped.stdout
    listed = _roost(root, "secret", "list")
    versions = _roost(root, "secret", "versions", "db_password")
    assert "db_password" in listed.stdout
    assert "hmac-sha256:" in versions.stdout
    assert "production" in versions.stdout
    for output in (done, scoped, listed, versions):
        assert VALUE not in output.stdout + output.stderr
    assert VALUE.encode() not in (root / ".roost" / "state.db").read_bytes()
    with open_workspace(root) as ws:
        values = [vault_of(ws).value(r) for r in ws.store.secrets.versions("db_password")]
    assert values == ["prod-" + VALUE, VALUE]


def test_bad_input_is_one_clear_line(root: Path) -> None:
    empty = _roost(root, "secret", "set", "db_password", stdin="")
    assert empty.returncode == 2
    assert "the value is empty" in empty.stderr
    bad_name = _roost(root, "secret", "set", "db password", stdin="x")
    assert bad_name.returncode == 2
    assert "is not a secret name" in bad_name.stderr
    env = _roost(root, "secret", "set", "db_password", "--env", "prod", stdin="x")
    assert env.returncode == 2
    assert "unknown environment 'prod'" in env.stderr
    unknown = _roost(root, "secret", "versions", "nope")
    assert unknown.returncode == 2
    assert "Traceback" not in empty.stderr + bad_name.stderr + env.stderr + unknown.stderr


def test_validate_refuses_a_name_the_store_does_not_hold(root: Path) -> None:
    # No state store yet: nothing to ask, the deploy checks.
    assert _roost(root, "validate").returncode == 0
    assert _roost(root, "secret", "set", "other", stdin="x").returncode == 0
    refused = _roost(root, "validate")
    assert refused.returncode == 2
    assert "roost.yaml:11:15: services[0].secrets[0].from: no stored secret 'db_password'" in (
        refused.stderr
    )
    assert "roost secret set db_password" in refused.stderr
    assert _roost(root, "secret", "set", "db_password", stdin="x").returncode == 0
    assert _roost(root, "validate").returncode == 0


def test_rotate_key_keeps_every_secret_readable(root: Path) -> None:
    for value in ("one", "two"):
        assert _roost(root, "secret", "set", "db_password", stdin=value).returncode == 0
    with open_workspace(root) as ws:
        old = ws.keys.key_file.read_bytes()
    rotated = _roost(root, "secret", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-wrapped 2 data key(s)" in rotated.stdout
    with open_workspace(root) as ws:
        assert ws.keys.key_file.read_bytes() != old
        values = [vault_of(ws).value(r) for r in ws.store.secrets.versions("db_password")]
    assert values == ["two", "one"]


def test_old_plain_digests_in_events_are_withheld_from_roost_events(root: Path) -> None:
    plain = "sha256:" + hashlib.sha256(b"1234").hexdigest()
    with open_workspace(root) as ws:
        ws.store.events.append(
            event_catalog.SECRET_SET,
            source="/roost/control",
            subject="web",
            data={"reason": "old roost", "secrets": {"A": {"from": "env:A", "digest": plain}}},
        )
    shown = _roost(root, "events", "--json")
    table = _roost(root, "events")
    assert shown.returncode == 0, shown.stderr
    assert "withheld" in shown.stdout
    assert plain.removeprefix("sha256:") not in shown.stdout + table.stdout
    assert "old roost" in shown.stdout
