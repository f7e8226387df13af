"""Where the key-encryption key comes from: a private key file outside the project (default),
``$ROOST_SECRET_KEY``, or a command; and the per-project digest key beside it."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import sys
from pathlib import Path

import pytest

from roost.secrets import Digester, KeyRing, KeySource, SecretKeyError
from roost.secrets.digests import withhold_plain


def _ring(tmp_path: Path, **kwargs: object) -> KeyRing:
    env = {"ROOST_KEY_DIR": str(tmp_path / "keys"), **kwargs.pop("env", {})}  # type: ignore[dict-item]
    return KeyRing(tmp_path / "project" / ".roost", environ=env, **kwargs)  # type: ignore[arg-type]


def test_the_default_key_file_is_private_and_outside_the_project(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    assert ring.source is KeySource.FILE
    kek_id, key = ring.kek()
    assert len(key) == 32
    assert not ring.key_file.is_relative_to(tmp_path / "project")
    assert stat.S_IMODE(ring.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(ring.key_file.parent.stat().st_mode) == 0o700
    # Another process finds the same key.
    assert _ring(tmp_path).kek() == (kek_id, key)
    digest_key = ring.digest_key()
    assert stat.S_IMODE(ring.digest_file.stat().st_mode) == 0o600
    assert digest_key != key


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    ring.kek()
    ring.key_file.chmod(0o644)
    with pytest.raises(SecretKeyError, match="may be read by other users") as caught:
        _ring(tmp_path).kek()
    assert "chmod 600" in caught.value.hint


def test_the_environment_wins_and_a_bad_key_is_named(tmp_path: Path) -> None:
    key = os.urandom(32)
    ring = _ring(tmp_path, env={"ROOST_SECRET_KEY": base64.b64encode(key).decode()})
    assert ring.source is KeySource.ENV
    assert ring.kek()[1] == key
    assert not ring.key_file.exists()
    with pytest.raises(SecretKeyError, match=r"\$ROOST_SECRET_KEY is not a roost secret key"):
        _ring(tmp_path, env={"ROOST_SECRET_KEY": "password1"}).kek()


def test_a_failing_key_command_is_one_clear_error(tmp_path: Path) -> None:
    ring = _ring(tmp_path, key_command=[sys.executable, "-c", "raise SystemExit(3)"])
    assert ring.source is KeySource.COMMAND
    with pytest.raises(SecretKeyError, match="failed with exit code 3"):
        ring.kek()
    with pytest.raises(SecretKeyError, match="command not found"):
        _ring(tmp_path, key_command=["roost-no-such-command"]).kek()


def test_digests_are_keyed_and_old_plain_ones_are_withheld() -> None:
    digester = Digester(os.urandom(32))
    plain = "sha256:" + hashlib.sha256(b"1234").hexdigest()
    keyed = digester.digest("1234")
    assert keyed.startswith("hmac-sha256:")
    assert keyed.removeprefix("hmac-sha256:") != plain.removeprefix("sha256:")
    assert Digester(os.urandom(32)).digest("1234") != keyed  # another project, another digest
    assert digester.matches("1234", keyed)
    assert not digester.matches("1235", keyed)
    legacy = digester.rekey_legacy(plain)
    assert digester.matches("1234", legacy)
    assert plain.removeprefix("sha256:") not in legacy
    shown = withhold_plain({"A": {"from": "env:A", "digest": plain}, "B": {"digest": keyed}})
    assert plain not in str(shown)
    assert shown["B"]["digest"] == keyed
