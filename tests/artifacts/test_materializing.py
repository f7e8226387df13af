"""An artifact becomes a directory with its own venv; two versions run side by side with
different dependencies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.artifacts._wheels import make_wheel

from roost.artifacts import (
    ArtifactNotFound,
    MaterializeError,
    environment_for,
    layout_of,
    materialize,
    package_service,
    release_dir,
    venv_of,
)


def _service(root: Path, version: str) -> Path:
    """A service folder that prints the version of its pinned ``greet`` dependency."""
    folder = root / f"src-{version}"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("import greet\nprint(greet.hello())\n")
    (folder / "requirements.lock").write_text(f"greet=={version}\n")
    make_wheel(folder / "wheels", "greet", version, f"def hello():\n    return 'greet {version}'\n")
    return folder


def _run(workdir: Path, *command: str) -> str:
    env = environment_for(workdir)
    result = subprocess.run(
        list(command), cwd=workdir, env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


def test_two_versions_run_side_by_side_with_their_own_dependencies(tmp_path: Path) -> None:
    layout = layout_of(tmp_path)
    v1 = package_service(layout, _service(tmp_path, "1.0"), service="web", tags=["web:v1"])
    v2 = package_service(layout, _service(tmp_path, "2.0"), service="web", tags=["web:v2"])
    one = materialize(v1.digest, root=tmp_path)
    two = materialize(v2.digest, root=tmp_path)
    assert one == release_dir(tmp_path, v1.digest) / "app"
    assert one.parent.name == "sha256-" + v1.digest.removeprefix("sha256:")
    assert one != two
    assert _run(one, "python3", "main.py") == "greet 1.0"
    assert _run(two, "python3", "main.py") == "greet 2.0"
    assert (venv_of(one) / "bin" / "python").exists()
    # idempotent: the second call finds the finished directory
    marker = one.parent / "complete.json"
    stamp = marker.stat().st_mtime_ns
    assert materialize(v1.digest, root=tmp_path) == one
    assert marker.stat().st_mtime_ns == stamp


def test_an_artifact_without_dependencies_gets_a_bare_venv(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "main.py").write_text("import sys\nprint(sys.prefix)\n")
    packaged = package_service(layout_of(tmp_path), folder, service="web")
    workdir = materialize(packaged.digest, root=tmp_path)
    assert _run(workdir, "python3", "main.py") == str(venv_of(workdir))
    assert not (venv_of(workdir) / "bin" / "pip").exists()


def test_a_crashed_attempt_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "main.py").write_text("print('ok')\n")
    packaged = package_service(layout_of(tmp_path), folder, service="web")
    half = release_dir(tmp_path, packaged.digest) / "app"
    half.mkdir(parents=True)
    (half / "leftover.txt").write_text("from a crash")
    workdir = materialize(packaged.digest, root=tmp_path)
    assert not (workdir / "leftover.txt").exists()
    assert _run(workdir, "python3", "main.py") == "ok"


def test_missing_wheels_fail_cleanly(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "main.py").write_text("")
    (folder / "requirements.txt").write_text("greet==9.9\n")
    packaged = package_service(layout_of(tmp_path), folder, service="web")
    with pytest.raises(MaterializeError, match=r"installing requirements\.txt offline") as caught:
        materialize(packaged.digest, root=tmp_path)
    assert "wheels" in caught.value.hint
    assert not release_dir(tmp_path, packaged.digest).exists()  # nothing half-written


def test_an_unknown_digest_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFound):
        materialize("sha256:" + "1" * 64, root=tmp_path)
    assert not release_dir(tmp_path, "sha256:" + "1" * 64).exists()
