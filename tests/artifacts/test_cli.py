"""``roost artifacts list|inspect|push|pull|replicate`` against real registries, and the
one-line errors a user gets when a registry is down, says no, or serves the wrong bytes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from tests.artifacts._registry import RegistryServer
from typer.testing import CliRunner

from roost.artifacts import layout_of, package_service
from roost.cli.app import app


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, service_dir: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    package_service(layout_of(root), service_dir, service="web", tags=["web:v1"])
    return root


def test_list_inspect_push_pull_and_replicate(
    project: Path, registry: RegistryServer, second_registry: RegistryServer, tmp_path: Path
) -> None:
    code, out, err = _cli("artifacts", "list", "--project", str(project))
    assert code == 0, err
    assert "web:v1" in out
    code, out, err = _cli("artifacts", "inspect", "web:v1", "--project", str(project))
    assert code == 0, err
    document = json.loads(out)
    assert [layer["title"] for layer in document["layers"]] == ["dependencies", "app"]
    digest = document["digest"]
    code, out, err = _cli(
        "artifacts", "push", "web:v1", f"{registry.host}/shop/web", "--project", str(project)
    )
    assert code == 0, err
    assert f"pushed {digest} to {registry.host}/shop/web:v1 (3 blobs sent, 0 already there)" in out
    code, out, err = _cli(
        "artifacts", "replicate", f"{registry.host}/shop/web", f"{second_registry.host}/eu/web"
    )
    assert code == 0, err
    assert f"replicated {digest} to {second_registry.host}/eu/web:v1" in out
    other = tmp_path / "other"
    other.mkdir()
    code, out, err = _cli(
        "artifacts", "pull", f"{second_registry.host}/eu/web:v1", "--project", str(other)
    )
    assert code == 0, err
    assert f"pulled {digest} as eu/web:v1" in out
    blobs = sorted((project / ".roost/artifacts/blobs/sha256").iterdir())
    pulled = sorted((other / ".roost/artifacts/blobs/sha256").iterdir())
    assert [p.read_bytes() for p in pulled] == [p.read_bytes() for p in blobs]


def test_pull_keeps_the_repository_path(
    project: Path, registry: RegistryServer, tmp_path: Path
) -> None:
    code, _, err = _cli(
        "artifacts", "push", "web:v1", f"{registry.host}/audit/made:v1", "--project", str(project)
    )
    assert code == 0, err
    other = tmp_path / "other"
    other.mkdir()
    code, out, err = _cli(
        "artifacts", "pull", f"{registry.host}/audit/made:v1", "--project", str(other)
    )
    assert code == 0, err
    assert " as audit/made:v1 " in out
    code, out, err = _cli("artifacts", "list", "--project", str(other))
    assert code == 0, err
    assert "audit/made:v1" in out
    code, out, err = _cli("artifacts", "inspect", "audit/made:v1", "--project", str(other))
    assert code == 0, err
    # a deeper path, and --tag still wins
    code, _, err = _cli(
        "artifacts", "push", "web:v1", f"{registry.host}/a/b/c:v2", "--project", str(project)
    )
    assert code == 0, err
    code, out, err = _cli("artifacts", "pull", f"{registry.host}/a/b/c:v2", "--project", str(other))
    assert code == 0, err
    assert " as a/b/c:v2 " in out
    code, out, err = _cli(
        "artifacts", "pull", f"{registry.host}/a/b/c:v2", "-t", "mine:v2", "--project", str(other)
    )
    assert code == 0, err
    assert " as mine:v2 " in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_registry_errors_are_one_line(
    project: Path, read_only_registry: RegistryServer, registry: RegistryServer
) -> None:
    port = _free_port()
    cases = [
        (("push", "web:v1", f"127.0.0.1:{port}/shop/web"), 1,
         f"roost: error: cannot reach the registry at http://127.0.0.1:{port}"),
        (("push", "web:v1", f"{read_only_registry.host}/shop/web"), 1,
         f"roost: error: {read_only_registry.url} refused upload of blob"),
        (("push", "web:v1", "shop/web"), 2, "is not a registry reference"),
        (("push", "web:nope", f"{registry.host}/shop/web"), 1, "no artifact tagged web:nope"),
        (("pull", f"{registry.host}/shop/web:missing"), 1, "not found in"),
        (("pull", f"{registry.host}/shop/web"), 2, "names no tag or digest"),
    ]  # fmt: skip
    for args, code, message in cases:
        got_code, _, err = _cli("artifacts", *args, "--project", str(project), "--timeout", "5")
        assert (got_code, message in err) == (code, True), (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


def test_a_digest_mismatch_on_pull_is_refused_and_nothing_is_written(
    project: Path, registry: RegistryServer, tmp_path: Path
) -> None:
    code, _, err = _cli(
        "artifacts", "push", "web:v1", f"{registry.host}/shop/web", "--project", str(project)
    )
    assert code == 0, err
    _, manifest = layout_of(project).manifest("web:v1")
    stored = registry.blob_file(manifest.layers[1].digest)
    stored.write_bytes(bytes(len(stored.read_bytes())))
    other = tmp_path / "other"
    other.mkdir()
    code, _, err = _cli(
        "artifacts", "pull", f"{registry.host}/shop/web:v1", "--project", str(other)
    )
    assert code == 1
    assert err.startswith(f"roost: error: blob {manifest.layers[1].digest}: expected ")
    assert "nothing was written" in err
    assert not list((other / ".roost/artifacts/blobs/sha256").iterdir())
    index = json.loads((other / ".roost/artifacts/index.json").read_text())
    assert index["manifests"] == []
