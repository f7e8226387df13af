"""Moving artifacts: local layout → registry (push), registry → layout (pull), and registry →
registry (replicate).

Each transfer copies the blobs first and the manifest last, so a reader never sees a manifest
whose blobs are missing; blobs the other side already has (``HEAD``, or present in the layout)
are skipped. A pull stages everything and commits only when every digest checked out: a
mismatch leaves the layout exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from roost.artifacts.digests import verified_chunks
from roost.artifacts.distribution import RegistryClient
from roost.artifacts.errors import BadReference
from roost.artifacts.layout import OciLayout, parse_tag
from roost.artifacts.manifests import MANIFEST, Descriptor, parse_manifest
from roost.artifacts.references import RegistryRef

Progress = Callable[[str, Descriptor], None]
"""Called with ``("skip" | "copy", blob)`` for every blob a transfer looks at."""


@dataclass(frozen=True)
class Transfer:
    """What one push, pull or replication did."""

    digest: str
    reference: str
    copied: int
    skipped: int
    bytes_copied: int


def _quiet(_: str, __: Descriptor) -> None:
    return None


def push(
    layout: OciLayout,
    local: str,
    target: RegistryRef,
    client: RegistryClient,
    *,
    progress: Progress = _quiet,
) -> Transfer:
    """Push the artifact ``local`` (tag, digest or prefix) to ``target``.

    The remote tag is ``target``'s tag, else the local tag's tag part, else the artifact is
    pushed by digest only.
    """
    descriptor, manifest = layout.manifest(local)
    reference = target.tag or _tag_part(local, layout.tags_of(descriptor.digest))
    reference = reference or descriptor.digest
    copied = skipped = size = 0
    for blob in manifest.blobs:
        if client.blob_exists(target.name, blob.digest):
            skipped += 1
            progress("skip", blob)
            continue
        client.upload_blob(target.name, blob.digest, blob.size, layout.iter_blob(blob.digest))
        copied += 1
        size += blob.size
        progress("copy", blob)
    data = layout.read_blob(descriptor.digest)
    client.put_manifest(target.name, reference, data, media_type=descriptor.media_type)
    return Transfer(descriptor.digest, _display(target, reference), copied, skipped, size)


def pull(
    client: RegistryClient,
    source: RegistryRef,
    layout: OciLayout,
    *,
    tags: tuple[str, ...] | None = None,
    progress: Progress = _quiet,
) -> Transfer:
    """Pull ``source`` into ``layout`` and tag it (default: its repository path and tag without
    the registry host, ``127.0.0.1:5000/audit/made:v1`` → ``audit/made:v1``, as docker and
    podman name a pulled image: two repositories ending in the same word stay apart).

    Every blob and the manifest are verified against their digests before anything is
    committed; on :class:`DigestMismatch` the layout is left untouched.
    """
    reference = source.reference
    if reference is None:
        raise BadReference(f"{source} names no tag or digest", hint="add :TAG or @sha256:…")
    data, media_type, digest = client.get_manifest(source.name, reference)
    manifest = parse_manifest(data, what=str(source))
    if tags is None:
        tags = (f"{source.name}:{source.tag}",) if source.tag else ()
    tags = tuple(parse_tag(tag) for tag in tags)
    copied = skipped = size = 0
    with layout.staging() as stage:
        for blob in manifest.blobs:
            if layout.has_blob(blob.digest):
                skipped += 1
                progress("skip", blob)
                continue
            with client.fetch_blob(source.name, blob.digest) as chunks:
                stage.add(chunks, digest=blob.digest)
            copied += 1
            size += blob.size
            progress("copy", blob)
        stage.add([data], digest=digest)
    descriptor = Descriptor(media_type or MANIFEST, digest, len(data))
    layout.add_manifest(descriptor, tags=tags)
    return Transfer(digest, ", ".join(tags) or digest, copied, skipped, size)


def replicate(
    source_client: RegistryClient,
    source: RegistryRef,
    target_client: RegistryClient,
    target: RegistryRef,
    *,
    progress: Progress = _quiet,
) -> list[Transfer]:
    """Copy ``source`` to ``target`` registry to registry; without a tag or digest in
    ``source``, every tag of the repository. Blobs stream through, verified on the way: a
    corrupt source blob fails before the target commits it."""
    if source.reference is not None:
        references = [source.reference]
    else:
        references = source_client.tags(source.name)
    results = []
    for reference in references:
        data, media_type, digest = source_client.get_manifest(source.name, reference)
        manifest = parse_manifest(data, what=f"{source.with_reference()}:{reference}")
        copied = skipped = size = 0
        for blob in manifest.blobs:
            if target_client.blob_exists(target.name, blob.digest):
                skipped += 1
                progress("skip", blob)
                continue
            with source_client.fetch_blob(source.name, blob.digest) as chunks:
                verified = verified_chunks(chunks, blob.digest, what=f"blob {blob.digest}")
                target_client.upload_blob(target.name, blob.digest, blob.size, verified)
            copied += 1
            size += blob.size
            progress("copy", blob)
        put_as = target.reference if target.reference and source.reference else reference
        target_client.put_manifest(target.name, put_as, data, media_type=media_type or MANIFEST)
        results.append(Transfer(digest, _display(target, put_as), copied, skipped, size))
    return results


def _tag_part(local: str, tags: tuple[str, ...]) -> str | None:
    """The tag part of ``local`` if it was resolved as one of the artifact's tags."""
    try:
        tag = parse_tag(local)
    except BadReference:
        return None
    return tag.rsplit(":", 1)[1] if tag in tags else None


def _display(ref: RegistryRef, reference: str) -> str:
    if reference.startswith("sha256:"):
        return str(ref.with_reference(digest=reference))
    return str(ref.with_reference(tag=reference))
