"""One release per (service, artifact digest, config): rebuilding the same commit finds the
release it already made instead of cutting a second one of the same thing."""

from __future__ import annotations

from pathlib import Path

from roost.control.releases.releasing import same_release
from roost.control.workspace import open_workspace

PROJECT = """\
project: builds
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 app.py
"""


def test_the_same_artifact_and_config_is_the_same_release(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    with open_workspace(tmp_path) as ws:
        first = {
            "artifact": "oci:sha256:" + "a" * 64,
            "config": {"command": "python3 app.py", "env": {"A": "1"}},
            "secrets": {"TOKEN": {"from": "env:T", "version": None, "digest": "sha256:x"}},
            "schema_requires": ">=1",
            "schema_migrates_to": 2,
        }
        assert same_release(ws.store, "web", **first) is None  # type: ignore[arg-type]
        made = ws.store.releases.create("web", created_by="ci", **first)  # type: ignore[arg-type]
        # Same digest, same config (keys in another order): the same release.
        again = {**first, "config": {"env": {"A": "1"}, "command": "python3 app.py"}}
        assert same_release(ws.store, "web", **again) == made  # type: ignore[arg-type]
        # Another digest, config, secret or schema range: another release.
        for changed in (
            {"artifact": "oci:sha256:" + "b" * 64},
            {"config": {"command": "python3 app.py", "env": {"A": "2"}}},
            {"secrets": {"TOKEN": {"from": "env:T", "version": None, "digest": "sha256:y"}}},
            {"schema_requires": ">=2"},
        ):
            assert same_release(ws.store, "web", **{**first, **changed}) is None  # type: ignore[arg-type]
        assert same_release(ws.store, "api", **first) is None  # type: ignore[arg-type]
