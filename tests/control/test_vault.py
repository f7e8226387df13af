"""Sealed secrets for releases: what a release pins, what a revision gets, key rotation that
is all or nothing, and old plain digests keyed."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost._util import event_catalog
from roost.control.releases.errors import ReleaseError
from roost.control.releases.releasing import cut_release
from roost.control.releases.revisions import revision_spec
from roost.control.releases.vault import Vault, vault_of
from roost.control.workspace import Workspace, open_workspace
from roost.secrets import KeyRing, KeySource, SecretKeyError

PROJECT = """\
project: vaulted
version: 1
environments:
  dev: {}
  prod: {}
services:
  - name: web
    command: python3 app.py
    secrets:
      - name: DB_PASSWORD
        from: roost:db
      - name: API_TOKEN
        from: env:API_TOKEN
      - name: SMTP
        from: file:secrets/smtp
"""


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp").write_text("smtp-pass\n")
    with open_workspace(tmp_path) as opened:
        yield opened


def _cut(ws: Workspace, **secret_env: str) -> object:
    return cut_release(
        ws.store,
        ws.project,
        "web",
        root=ws.root,
        vault=vault_of(ws),
        secret_env=secret_env,
        created_by="alice",
    )


def _secrets(ws: Workspace, release: object, environment: str = "dev") -> dict[str, str]:
    spec = revision_spec(
        release,  # type: ignore[arg-type]
        environment_name=environment,
        environment=ws.project.environments[environment],
        root=ws.root,
        vault=vault_of(ws),
    )
    return dict(spec.secrets)


def test_a_release_pins_versions_and_a_rollback_gets_the_old_values(ws: Workspace) -> None:
    vault = vault_of(ws)
    vault.set_named("db", "pw-1", by="alice")
    first = _cut(ws, API_TOKEN="tok-1")
    vault.set_named("db", "pw-2", by="alice")
    vault.set_named("db", "pw-prod", scope="prod", by="alice")
    (ws.root / "secrets" / "smtp").write_text("smtp-2\n")
    second = _cut(ws, API_TOKEN="tok-2")
    assert _secrets(ws, first) == {"DB_PASSWORD": "pw-1", "API_TOKEN": "tok-1", "SMTP": "smtp-pass"}
    assert _secrets(ws, second) == {"DB_PASSWORD": "pw-2", "API_TOKEN": "tok-2", "SMTP": "smtp-2"}
    assert _secrets(ws, second, "prod")["DB_PASSWORD"] == "pw-prod"
    # The release shows versions and keyed digests, never a value or a plain hash.
    pins = second.secrets  # type: ignore[attr-defined]
    assert pins["DB_PASSWORD"]["version"] == 2
    assert pins["DB_PASSWORD"]["environments"]["prod"]["version"] == 3
    text = str(pins)
    for value in ("pw-2", "tok-2", "smtp-2"):
        assert value not in text
        assert hashlib.sha256(value.encode()).hexdigest() not in text
    assert all(p["digest"].startswith("hmac-sha256:") for p in pins.values())


def test_an_unchanged_value_reuses_its_version(ws: Workspace) -> None:
    vault_of(ws).set_named("db", "pw", by="alice")
    one = _cut(ws, API_TOKEN="same")
    two = _cut(ws, API_TOKEN="same")
    assert one.secrets == two.secrets  # type: ignore[attr-defined]
    assert len(vault_of(ws).versions("env:API_TOKEN")) == 1


def test_missing_secrets_are_named_with_a_hint(ws: Workspace) -> None:
    with pytest.raises(ReleaseError, match="no secret 'db' is stored") as caught:
        _cut(ws, API_TOKEN="t")
    assert "roost secret set db" in (caught.value.hint or "")
    vault_of(ws).set_named("db", "pw", by="alice")
    with pytest.raises(ReleaseError, match="not set where the deploy was issued"):
        _cut(ws)  # $API_TOKEN of this (the control plane's) process is never read
    text = (ws.root / "roost.yaml").read_text()
    (ws.root / "roost.yaml").write_text(text.replace("roost:db", "roost:db@7"))
    ws.project = open_workspace(ws.root).project
    with pytest.raises(ReleaseError, match="db has no version 7"):
        _cut(ws, API_TOKEN="t")


def test_a_secret_file_reached_through_a_symlink_out_of_the_project_is_refused(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "shadow"
    outside.write_text("not yours")
    (ws.root / "secrets" / "smtp").unlink()
    (ws.root / "secrets" / "smtp").symlink_to(outside)
    vault_of(ws).set_named("db", "pw", by="alice")
    with pytest.raises(ReleaseError, match="leads out of the project"):
        _cut(ws, API_TOKEN="t")


def test_rotation_rewraps_every_data_key(ws: Workspace) -> None:
    vault = vault_of(ws)
    vault.set_named("db", "pw-1", by="alice")
    release = _cut(ws, API_TOKEN="tok")
    old_id, old_key = ws.keys.kek()
    new_id, count = vault.rotate_key(by="alice")
    assert count == 3
    assert new_id != old_id
    assert ws.keys.key_file.read_bytes() != base64.b64encode(old_key) + b"\n"
    fresh = Vault(ws.store, KeyRing(ws.state_dir))  # another process, reading the key file
    assert {r.kek_id for r in ws.store.secrets.versions()} == {new_id}
    assert _secrets(ws, release)["DB_PASSWORD"] == "pw-1"
    assert fresh.value(ws.store.secrets.get("db", 1)) == "pw-1"
    rotated = ws.store.events.list(event_catalog.SECRET_KEY_ROTATED)
    assert [(e.actor, e.data["data_keys"]) for e in rotated] == [("alice", 3)]
    added = ws.store.events.list(event_catalog.SECRET_SET)
    assert {(e.subject, e.data["version"]) for e in added} == {
        ("db", 1),
        ("env:API_TOKEN", 1),
        ("file:secrets/smtp", 1),
    }
    assert "pw-1" not in str([e.data for e in added])


def test_a_rotation_that_fails_half_way_leaves_the_old_key_and_every_secret(ws: Workspace) -> None:
    vault = vault_of(ws)
    for value in ("a", "b", "c"):
        vault.set_named("db", value, by="alice")
    key_before = ws.keys.key_file.read_bytes()
    rows_before = ws.store.secrets.versions()
    seen: list[int] = []

    def crash(name: str, version: int) -> None:
        seen.append(version)
        if len(seen) == 2:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        vault.rotate_key(by="alice", check=crash)
    assert seen == [1, 2]  # it stopped half-way through ...
    assert ws.store.secrets.versions() == rows_before  # ... and no row changed
    assert ws.keys.key_file.read_bytes() == key_before
    assert not ws.keys.pending_file.exists()
    fresh = Vault(ws.store, KeyRing(ws.state_dir))
    assert [fresh.value(r) for r in ws.store.secrets.versions("db")] == ["c", "b", "a"]


def test_a_rotation_stopped_after_the_commit_is_finished_by_the_next_reader(
    ws: Workspace,
) -> None:
    vault = vault_of(ws)
    vault.set_named("db", "pw", by="alice")
    old = ws.keys.kek()
    new = ws.keys.prepare_rotation(None)
    # The store commits the re-wrapped keys; the process dies before replacing the key file.
    from roost.secrets import unwrap_key, wrap_key

    ws.store.secrets.rewrap(
        lambda n, v, w, k: (
            wrap_key(
                new[1],
                unwrap_key(old[1], w, kek_id=k, context=f"roost secret\0{n}\0{v}"),
                kek_id=new[0],
                context=f"roost secret\0{n}\0{v}",
            ),
            new[0],
        )
    )
    fresh = Vault(ws.store, KeyRing(ws.state_dir))
    assert fresh.value(ws.store.secrets.get("db", 1)) == "pw"
    assert not ws.keys.pending_file.exists()
    assert KeyRing(ws.state_dir).kek()[0] == new[0]


def test_the_key_can_come_from_key_command(ws: Workspace) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    text = (ws.root / "roost.yaml").read_text()
    command = f"secret_store:\n  key_command: [{sys.executable!r}, -c, 'print(\"{key}\")']\n"
    (ws.root / "roost.yaml").write_text(text.replace("services:", command + "services:"))
    with open_workspace(ws.root) as other:
        assert other.keys.source is KeySource.COMMAND
        vault = vault_of(other)
        vault.set_named("db", "from-command", by="alice")
        assert other.keys.kek()[1] == base64.b64decode(key)
        assert not other.keys.key_file.exists()
        assert vault.value(other.store.secrets.get("db", 1)) == "from-command"
    # Another key does not open what the command's key sealed, and says so.
    other_key = base64.b64encode(os.urandom(32)).decode()
    elsewhere = KeyRing(ws.state_dir, environ={**os.environ, "ROOST_SECRET_KEY": other_key})
    with pytest.raises(SecretKeyError, match="sealed under another key-encryption key"):
        Vault(ws.store, elsewhere).value(ws.store.secrets.get("db", 1))


def test_old_plain_digests_are_keyed_and_still_verify(ws: Workspace) -> None:
    plain = "sha256:" + hashlib.sha256(b"smtp-pass").hexdigest()
    old = ws.store.releases.create(
        "web",
        artifact="dir:.",
        config=ws.project.service("web").model_dump(mode="json", by_alias=True),
        secrets={"SMTP": {"from": "file:secrets/smtp", "version": None, "digest": plain}},
        schema_requires="",
        created_by="old roost",
    )
    assert vault_of(ws).rekey_legacy_digests() == [old.id]
    pinned = ws.store.releases.get(old.id).secrets["SMTP"]
    assert pinned["digest"].startswith("hmac-sha256-legacy:")
    assert plain.removeprefix("sha256:") not in str(pinned)
    assert _secrets(ws, ws.store.releases.get(old.id)) == {"SMTP": "smtp-pass"}
    assert vault_of(ws).rekey_legacy_digests() == []
    (ws.root / "secrets" / "smtp").write_text("changed")
    with pytest.raises(ReleaseError, match="changed since release"):
        _secrets(ws, ws.store.releases.get(old.id))


def test_a_long_running_process_follows_a_rotation_made_by_another(ws: Workspace) -> None:
    serving = vault_of(ws)  # roost serve: it read the key once and keeps it
    serving.set_named("db", "before", by="alice")
    Vault(ws.store, KeyRing(ws.state_dir)).rotate_key(by="bob")  # `roost secret rotate-key`
    # It seals a new value under the new key, not the one it remembered ...
    serving.set_named("db", "after", by="alice")
    rows = ws.store.secrets.versions("db")
    assert len({r.kek_id for r in rows}) == 1
    # ... and opens the re-wrapped old one.
    assert serving.value(rows[1]) == "before"
    fresh = Vault(ws.store, KeyRing(ws.state_dir))
    assert [fresh.value(r) for r in rows] == ["after", "before"]
