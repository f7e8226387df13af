"""A release that points at an OCI artifact runs from the materialized artifact, with its own
virtual environment first on PATH — two releases with different code run side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost.artifacts.materializing import layout_of
from roost.artifacts.packaging import package_service
from roost.clock import VirtualClock
from roost.control.releases.releasing import ReleaseError
from roost.control.releases.revisions import revision_spec
from roost.control.releases.vault import Vault
from roost.secrets import KeyRing
from roost.spec import Project, parse_project
from roost.store import ReleaseRecord, open_store

PROJECT = """
project: demo
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 app.py
"""


def _release(root: Path, artifact: str) -> tuple[ReleaseRecord, Project]:
    project = parse_project(PROJECT, filename="roost.yaml")
    service = project.service("web")
    with open_store(None, root=root, clock=VirtualClock()) as store:
        return store.releases.create(
            "web",
            artifact=artifact,
            config=service.model_dump(mode="json", by_alias=True),
            secrets={},
            schema_requires="",
            created_by="test",
        ), project


@pytest.mark.timeout(300)
def test_an_oci_release_runs_from_its_own_materialized_directory(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("print('v1')\n")
    packaged = package_service(layout_of(tmp_path), source, service="web", tags=["v1"])
    release, project = _release(tmp_path, f"oci:{packaged.digest}")
    with open_store(None, root=tmp_path) as store:
        spec = revision_spec(
            release,
            environment_name="dev",
            environment=project.environments["dev"],
            root=tmp_path,
            vault=Vault(store, KeyRing(tmp_path / ".roost")),
        )
    assert spec.workdir != tmp_path
    assert (spec.workdir / "app.py").read_text() == "print('v1')\n"
    assert spec.env["VIRTUAL_ENV"]
    assert spec.env["PATH"].startswith(spec.env["VIRTUAL_ENV"])


def test_a_missing_artifact_is_a_release_error(tmp_path: Path) -> None:
    release, project = _release(tmp_path, "oci:sha256:" + "0" * 64)
    with (
        open_store(None, root=tmp_path) as store,
        pytest.raises(ReleaseError, match="is not in") as caught,
    ):
        revision_spec(
            release,
            environment_name="dev",
            environment=project.environments["dev"],
            root=tmp_path,
            vault=Vault(store, KeyRing(tmp_path / ".roost")),
        )
    assert caught.value.hint is not None
    assert "roost artifacts pull" in caught.value.hint
