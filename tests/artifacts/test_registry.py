"""Push, pull and replicate through real registries (Debian's docker-registry on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest
from tests.artifacts._registry import RegistryServer

from roost.artifacts import (
    ArtifactNotFound,
    BadReference,
    DigestMismatch,
    OciLayout,
    RegistryClient,
    RegistryRefused,
    RegistryUnreachable,
    package_service,
    parse_registry_ref,
    pull,
    push,
    replicate,
)


def _blobs(layout: OciLayout) -> dict[str, bytes]:
    folder = layout.root / "blobs" / "sha256"
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_push_then_pull_round_trips_byte_identical_content(
    registry: RegistryServer, layout: OciLayout, service_dir: Path, tmp_path: Path
) -> None:
    packaged = package_service(layout, service_dir, service="web", tags=["web:v1"])
    target = parse_registry_ref(f"{registry.host}/shop/web")
    with RegistryClient(target.base_url) as client:
        client.ping()
        pushed = push(layout, "web:v1", target, client)
        assert (pushed.digest, pushed.copied, pushed.skipped) == (packaged.digest, 4 - 1, 0)
        assert pushed.reference == f"{registry.host}/shop/web:v1"
        assert client.tags("shop/web") == ["v1"]
        elsewhere = OciLayout(tmp_path / "elsewhere")
        pulled = pull(client, target.with_reference(tag="v1"), elsewhere)
    assert pulled.digest == packaged.digest
    # The local tag keeps the repository path, as docker and podman do.
    assert elsewhere.resolve("shop/web:v1").digest == packaged.digest
    assert _blobs(elsewhere) == _blobs(layout)


def test_a_second_push_skips_what_the_registry_has(
    registry: RegistryServer, layout: OciLayout, service_dir: Path
) -> None:
    package_service(layout, service_dir, service="web", tags=["web:v1"])
    (service_dir / "app" / "main.py").write_text("print('v2')\n")
    package_service(layout, service_dir, service="web", tags=["web:v2"])
    target = parse_registry_ref(f"{registry.host}/shop/web")
    with RegistryClient(target.base_url) as client:
        push(layout, "web:v1", target, client)
        again = push(layout, "web:v1", target, client)
        assert (again.copied, again.skipped) == (0, 3)
        v2 = push(layout, "web:v2", target, client)
        # only the app layer changed: config and dependencies are already there
        assert (v2.copied, v2.skipped) == (1, 2)
        assert client.tags("shop/web") == ["v1", "v2"]


def test_big_blobs_go_up_in_chunks(
    registry: RegistryServer, layout: OciLayout, service_dir: Path, tmp_path: Path
) -> None:
    (service_dir / "data.bin").write_bytes(os.urandom(300_000))  # does not compress
    packaged = package_service(layout, service_dir, service="web", tags=["web:big"])
    target = parse_registry_ref(f"{registry.host}/shop/big:1")
    with RegistryClient(target.base_url, chunk_size=64 * 1024) as client:
        push(layout, packaged.digest, target, client)
        elsewhere = OciLayout(tmp_path / "elsewhere")
        pull(client, target, elsewhere)
    assert _blobs(elsewhere) == _blobs(layout)


def test_replication_copies_every_tag_to_a_second_registry(
    registry: RegistryServer,
    second_registry: RegistryServer,
    layout: OciLayout,
    service_dir: Path,
    tmp_path: Path,
) -> None:
    first = package_service(layout, service_dir, service="web", tags=["web:v1"])
    (service_dir / "app" / "main.py").write_text("print('v2')\n")
    second = package_service(layout, service_dir, service="web", tags=["web:v2"])
    source = parse_registry_ref(f"{registry.host}/shop/web")
    target = parse_registry_ref(f"{second_registry.host}/eu/shop/web")
    with RegistryClient(source.base_url) as upstream, RegistryClient(target.base_url) as region:
        push(layout, "web:v1", source, upstream)
        push(layout, "web:v2", source, upstream)
        copies = replicate(upstream, source, region, target)
        assert [(c.digest, c.copied, c.skipped) for c in copies] == [
            (first.digest, 3, 0),
            (second.digest, 1, 2),
        ]
        assert region.tags("eu/shop/web") == ["v1", "v2"]
        again = replicate(upstream, source.with_reference(tag="v2"), region, target)
        assert [(c.copied, c.skipped) for c in again] == [(0, 3)]
        regional = OciLayout(tmp_path / "regional")
        pull(region, target.with_reference(tag="v2"), regional)
    assert regional.resolve("eu/shop/web:v2").digest == second.digest


def test_an_unreachable_registry_is_a_clear_error(layout: OciLayout, service_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    package_service(layout, service_dir, service="web", tags=["web:v1"])
    target = parse_registry_ref(f"127.0.0.1:{port}/shop/web")
    with (
        RegistryClient(target.base_url, timeout=5) as client,
        pytest.raises(RegistryUnreachable) as caught,
    ):
        push(layout, "web:v1", target, client)
    assert str(caught.value).startswith(f"cannot reach the registry at http://127.0.0.1:{port}")
    assert "connection refused" in str(caught.value)
    assert caught.value.hint


def test_a_refusing_registry_is_a_clear_error(
    read_only_registry: RegistryServer, layout: OciLayout, service_dir: Path
) -> None:
    package_service(layout, service_dir, service="web", tags=["web:v1"])
    target = parse_registry_ref(f"{read_only_registry.host}/shop/web")
    with RegistryClient(target.base_url) as client, pytest.raises(RegistryRefused) as caught:
        push(layout, "web:v1", target, client)
    message = str(caught.value)
    assert message.startswith(f"{read_only_registry.url} refused upload of blob sha256:")
    assert "HTTP 405" in message
    assert "read-only" in caught.value.hint


def test_pulling_an_unknown_tag_is_not_found(registry: RegistryServer, layout: OciLayout) -> None:
    source = parse_registry_ref(f"{registry.host}/shop/web:nope")
    with RegistryClient(source.base_url) as client, pytest.raises(ArtifactNotFound) as caught:
        pull(client, source, layout)
    assert "shop/web:nope" in str(caught.value)
    assert "MANIFEST_UNKNOWN" in str(caught.value) or "NAME_UNKNOWN" in str(caught.value)


def test_a_corrupt_blob_in_the_registry_is_refused_and_nothing_is_written(
    registry: RegistryServer, layout: OciLayout, service_dir: Path, tmp_path: Path
) -> None:
    packaged = package_service(layout, service_dir, service="web", tags=["web:v1"])
    _, manifest = layout.manifest("web:v1")
    target = parse_registry_ref(f"{registry.host}/shop/web:v1")
    with RegistryClient(target.base_url) as client:
        push(layout, "web:v1", target, client)
        app_layer = manifest.layers[1]
        stored = registry.blob_file(app_layer.digest)
        stored.write_bytes(b"x" * len(stored.read_bytes()))  # same size, other content
        elsewhere = OciLayout(tmp_path / "elsewhere").ensure()
        index_before = elsewhere.index_path.read_bytes()
        with pytest.raises(DigestMismatch, match=app_layer.digest):
            pull(client, target, elsewhere)
        assert elsewhere.index_path.read_bytes() == index_before
        assert _blobs(elsewhere) == {}  # not even the layers that were fine
        assert list((elsewhere.root / ".ingest").iterdir()) == []
        assert packaged.digest not in {e.digest for e in elsewhere.entries()}


def test_a_corrupt_manifest_in_the_registry_is_refused(
    registry: RegistryServer, layout: OciLayout, service_dir: Path, tmp_path: Path
) -> None:
    packaged = package_service(layout, service_dir, service="web", tags=["web:v1"])
    target = parse_registry_ref(f"{registry.host}/shop/web")
    with RegistryClient(target.base_url) as client:
        push(layout, "web:v1", target, client)
        stored = registry.blob_file(packaged.digest)
        stored.write_bytes(stored.read_bytes().replace(b"web", b"bad"))
        elsewhere = OciLayout(tmp_path / "elsewhere")
        for reference in (
            target.with_reference(tag="v1"),
            target.with_reference(digest=packaged.digest),
        ):
            with pytest.raises(DigestMismatch, match="expected " + packaged.digest):
                pull(client, reference, elsewhere)
    assert not elsewhere.root.exists() or _blobs(elsewhere) == {}


def test_a_corrupt_local_blob_is_never_committed_to_the_registry(
    registry: RegistryServer, layout: OciLayout, service_dir: Path
) -> None:
    packaged = package_service(layout, service_dir, service="web", tags=["web:v1"])
    _, manifest = layout.manifest("web:v1")
    path = layout.blob_path(manifest.layers[1].digest)
    path.write_bytes(path.read_bytes()[::-1])
    target = parse_registry_ref(f"{registry.host}/shop/web")
    with RegistryClient(target.base_url) as client:
        with pytest.raises(DigestMismatch):
            push(layout, "web:v1", target, client)
        assert not client.blob_exists("shop/web", manifest.layers[1].digest)
    response = httpx.get(f"{registry.url}/v2/shop/web/manifests/{packaged.digest}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("shop/web:1", "must start with the registry host"),
        ("127.0.0.1:5000/Shop/web", "is not a repository name"),
        ("127.0.0.1:5000/shop/web:bad tag", "is not a valid tag"),
        ("127.0.0.1:5000/shop/web@sha256:abc", "is not a sha256 digest"),
    ],
)
def test_bad_registry_references(text: str, message: str) -> None:
    with pytest.raises(BadReference, match=message):
        parse_registry_ref(text)


def test_registry_reference_schemes() -> None:
    assert parse_registry_ref("127.0.0.1:5000/a/b:1").base_url == "http://127.0.0.1:5000"
    assert parse_registry_ref("localhost/a").base_url == "http://localhost"
    assert parse_registry_ref("ghcr.io/acme/web:1").base_url == "https://ghcr.io"
    ref = parse_registry_ref("http://reg.lan:5000/acme/web@sha256:" + "a" * 64)
    assert (ref.base_url, ref.name, ref.tag) == ("http://reg.lan:5000", "acme/web", None)
    assert ref.reference == "sha256:" + "a" * 64
