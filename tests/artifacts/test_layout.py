"""The embedded OCI image layout: structure, atomic content-addressed blobs, verified reads,
tags in index.json."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from roost.artifacts import (
    ArtifactNotFound,
    BadReference,
    Descriptor,
    DigestMismatch,
    OciLayout,
    digest_bytes,
    parse_digest,
    parse_tag,
)
from roost.artifacts.manifests import INDEX, MANIFEST, REF_NAME, build_manifest


def _manifest(layout: OciLayout, payload: bytes) -> Descriptor:
    layer = layout.put_bytes(payload, media_type="application/octet-stream")
    config = layout.put_bytes(b"{}", media_type="application/vnd.roost.service.config.v1+json")
    return layout.put_bytes(build_manifest(config, [layer]), media_type=MANIFEST)


def test_a_new_layout_has_the_standard_structure(tmp_path: Path) -> None:
    layout = OciLayout(tmp_path / "oci").ensure()
    assert json.loads((tmp_path / "oci" / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }
    index = json.loads((tmp_path / "oci" / "index.json").read_text())
    assert index == {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
    assert (tmp_path / "oci" / "blobs" / "sha256").is_dir()
    assert layout.entries() == []


def test_blobs_are_content_addressed_and_idempotent(layout: OciLayout) -> None:
    first = layout.put_bytes(b"hello", media_type="text/plain")
    second = layout.put_bytes(b"hello", media_type="text/plain")
    assert first == second
    assert first.digest == digest_bytes(b"hello")
    path = layout.blob_path(first.digest)
    assert path == layout.root / "blobs" / "sha256" / first.digest.removeprefix("sha256:")
    assert path.read_bytes() == b"hello"
    assert layout.read_blob(first.digest) == b"hello"
    assert list((layout.root / ".ingest").iterdir()) == []


def test_a_blob_changed_on_disk_is_refused_on_read(layout: OciLayout) -> None:
    blob = layout.put_bytes(b"original", media_type="text/plain")
    layout.blob_path(blob.digest).write_bytes(b"tampered")
    with pytest.raises(DigestMismatch, match=blob.digest):
        layout.read_blob(blob.digest)
    with pytest.raises(DigestMismatch):
        b"".join(layout.iter_blob(blob.digest))


def test_staging_with_a_wrong_digest_writes_nothing(layout: OciLayout) -> None:
    good = digest_bytes(b"good")

    def stage_two() -> None:
        with layout.staging() as stage:
            stage.add([b"first blob"], digest=digest_bytes(b"first blob"))
            stage.add([b"evil"], digest=good)

    with pytest.raises(DigestMismatch):
        stage_two()
    assert not layout.has_blob(good)
    assert not layout.has_blob(digest_bytes(b"first blob"))  # nothing half-written
    assert list((layout.root / ".ingest").iterdir()) == []


def test_tags_live_in_the_index_and_move(layout: OciLayout) -> None:
    v1 = _manifest(layout, b"v1")
    v2 = _manifest(layout, b"v2")
    layout.add_manifest(v1, tags=["web:1", "web:latest"])
    layout.add_manifest(v2, tags=["web:2"])
    layout.add_manifest(v2, tags=["web:latest"])
    index = json.loads(layout.index_path.read_text())
    names = {m["annotations"][REF_NAME]: m["digest"] for m in index["manifests"]}
    assert names == {"web:1": v1.digest, "web:2": v2.digest, "web:latest": v2.digest}
    assert layout.resolve("web").digest == v2.digest  # web = web:latest
    assert layout.resolve("web:1").digest == v1.digest
    assert layout.resolve(v1.digest).digest == v1.digest
    assert layout.resolve(v1.digest.removeprefix("sha256:")[:12]).digest == v1.digest
    assert {e.digest: set(e.tags) for e in layout.entries()} == {
        v1.digest: {"web:1"},
        v2.digest: {"web:2", "web:latest"},
    }


def test_a_manifest_whose_last_tag_moves_stays_listed(layout: OciLayout) -> None:
    v1 = _manifest(layout, b"v1")
    v2 = _manifest(layout, b"v2")
    layout.add_manifest(v1, tags=["web:latest"])
    layout.add_manifest(v2, tags=["web:latest"])
    assert {e.digest: e.tags for e in layout.entries()} == {
        v1.digest: (),
        v2.digest: ("web:latest",),
    }


def test_unknown_and_bad_references(layout: OciLayout) -> None:
    with pytest.raises(ArtifactNotFound, match="web:nope"):
        layout.resolve("web:nope")
    with pytest.raises(ArtifactNotFound):
        layout.resolve("sha256:" + "0" * 64)
    with pytest.raises(BadReference, match="not a tag"):
        layout.resolve("Web:Bad Tag")
    with pytest.raises(BadReference):
        parse_digest("sha256:xyz")
    assert parse_tag("web") == "web:latest"
    with pytest.raises(ArtifactNotFound):
        layout.add_manifest(Descriptor(MANIFEST, digest_bytes(b"absent"), 6), tags=["web:x"])


def test_concurrent_taggers_do_not_lose_tags(layout: OciLayout) -> None:
    manifests = [_manifest(layout, f"m{i}".encode()) for i in range(16)]
    errors: list[BaseException] = []

    def tag(index: int) -> None:
        try:
            layout.add_manifest(manifests[index], tags=[f"svc:{index}"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(t for e in layout.entries() for t in e.tags) == sorted(
        f"svc:{i}" for i in range(16)
    )
