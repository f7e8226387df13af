"""Packaging a service folder as a reproducible two-layer OCI artifact, and unpacking it."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.artifacts import ArtifactError, OciLayout, package_service, unpack
from roost.artifacts.manifests import LAYER_TAR_GZIP, MANIFEST, SERVICE_ARTIFACT, SERVICE_CONFIG
from roost.artifacts.selecting import matches, select_files

COMMIT = "3f2a9c1" + "0" * 33
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _members(layout: OciLayout, digest: str) -> dict[str, tarfile.TarInfo]:
    data = layout.read_blob(digest)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def test_the_artifact_is_an_oci_manifest_with_config_and_two_layers(
    layout: OciLayout, service_dir: Path
) -> None:
    packaged = package_service(
        layout, service_dir, service="web", tags=["web:3f2a9c1"], commit=COMMIT, created=WHEN
    )
    assert packaged.files == 4
    descriptor, manifest = layout.manifest("web:3f2a9c1")
    assert descriptor.digest == packaged.digest
    document = json.loads(layout.read_blob(packaged.digest))
    assert document["schemaVersion"] == 2
    assert document["mediaType"] == MANIFEST
    assert document["artifactType"] == SERVICE_ARTIFACT
    assert document["config"]["mediaType"] == SERVICE_CONFIG
    assert [layer["mediaType"] for layer in document["layers"]] == [LAYER_TAR_GZIP] * 2
    assert document["annotations"]["org.opencontainers.image.revision"] == COMMIT
    assert document["annotations"]["org.opencontainers.image.created"] == "2026-03-01T12:00:00Z"
    config = json.loads(layout.read_blob(manifest.config.digest))
    assert config["service"] == "web"
    assert config["dependencies"] == {"lock_files": ["requirements.lock"], "wheels": 1}
    deps, app = (_members(layout, layer.digest) for layer in manifest.layers)
    assert set(deps) == {"requirements.lock", "wheels", "wheels/greet-1.0-py3-none-any.whl"}
    assert set(app) == {"app", "app/main.py", "run.sh"}  # no .git, no __pycache__
    assert app["run.sh"].mode == 0o755
    assert app["app/main.py"].mode == 0o644
    assert {m.mtime for m in app.values()} == {int(WHEN.timestamp())}
    assert {(m.uid, m.gid, m.uname) for m in app.values()} == {(0, 0, "")}
    # gzip header: no file name, no time
    raw = layout.read_blob(manifest.layers[1].digest)
    assert raw[4:8] == b"\0\0\0\0"
    assert gzip.decompress(raw)


def test_packaging_is_reproducible(tmp_path: Path, service_dir: Path) -> None:
    first = package_service(OciLayout(tmp_path / "a"), service_dir, service="web", created=WHEN)
    (service_dir / "app" / "main.py").touch()  # a new mtime changes nothing
    second = package_service(OciLayout(tmp_path / "b"), service_dir, service="web", created=WHEN)
    assert first.digest == second.digest


def test_unchanged_dependencies_keep_their_layer_digest(
    layout: OciLayout, service_dir: Path
) -> None:
    first = package_service(layout, service_dir, service="web", tags=["web:1"])
    (service_dir / "app" / "main.py").write_text("print('v2')\n")
    second = package_service(layout, service_dir, service="web", tags=["web:2"])
    _, one = layout.manifest(first.digest)
    _, two = layout.manifest(second.digest)
    assert one.layers[0].digest == two.layers[0].digest
    assert one.layers[1].digest != two.layers[1].digest


def test_unpack_restores_the_files(layout: OciLayout, service_dir: Path, tmp_path: Path) -> None:
    packaged = package_service(layout, service_dir, service="web", exclude=["wheels"])
    target = tmp_path / "out"
    target.mkdir()
    config = unpack(layout, packaged.digest, target)
    assert config["service"] == "web"
    assert (target / "app" / "main.py").read_text() == "print('hello from web')\n"
    assert (target / "run.sh").stat().st_mode & 0o111
    assert not (target / "wheels").exists()
    assert not (target / ".git").exists()


def test_nothing_selected_is_an_error(layout: OciLayout, service_dir: Path) -> None:
    with pytest.raises(ArtifactError, match="nothing to package"):
        package_service(layout, service_dir, service="web", include=["nope/**"])


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("app/main.py", "**/*.py", True),
        ("main.py", "**/*.py", True),
        ("app/deep/x.py", "app/**", True),
        ("app/deep/x.py", "app", True),
        ("app/deep/x.py", "app/*.py", False),
        ("application/x", "app", False),
        ("docs/readme.md", "*.md", False),
        ("readme.md", "./*.md", True),
        ("a/b", "a/?", True),
    ],
)
def test_glob_patterns(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected


def test_select_files_is_sorted_and_skips_roost_state(service_dir: Path) -> None:
    (service_dir / ".roost").mkdir()
    (service_dir / ".roost" / "state.db").write_text("")
    assert list(select_files(service_dir)) == [
        "app/main.py",
        "requirements.lock",
        "run.sh",
        "wheels/greet-1.0-py3-none-any.whl",
    ]
