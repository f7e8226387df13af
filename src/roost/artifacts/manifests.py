"""OCI descriptors, image manifests and indexes: media types, building and parsing.

roost's service artifact is an OCI *artifact* (image-spec 1.1): an image manifest whose
``artifactType`` and config media type say "roost service", with ordinary ``tar+gzip`` layers.
Any OCI distribution registry stores it; tools that only know container images see a
manifest they cannot run, which is the honest answer.

Manifests are serialised once (compact JSON, keys in spec order) and from then on handled as
bytes: a manifest's digest is the digest of exactly those bytes, so they are never re-encoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roost.artifacts.digests import is_digest
from roost.artifacts.errors import LayoutError

OCI_LAYOUT_VERSION = "1.0.0"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (MANIFEST, INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)
"""What a registry may answer for a manifest; roost writes only the first one."""

SERVICE_ARTIFACT = "application/vnd.roost.service.v1"
SERVICE_CONFIG = "application/vnd.roost.service.config.v1+json"

REF_NAME = "org.opencontainers.image.ref.name"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
REVISION = "org.opencontainers.image.revision"
SERVICE = "dev.roost.service"


@dataclass(frozen=True)
class Descriptor:
    """A reference to content: media type, digest, size, and optional annotations."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            data["artifactType"] = self.artifact_type
        if self.annotations:
            data["annotations"] = dict(sorted(self.annotations.items()))
        return data

    @classmethod
    def from_json(cls, data: Any, *, what: str) -> Descriptor:
        """A descriptor from its JSON form; :class:`LayoutError` naming ``what`` if malformed."""
        if not isinstance(data, dict):
            raise LayoutError(f"{what}: a descriptor must be an object")
        media_type, digest, size = data.get("mediaType"), data.get("digest"), data.get("size")
        annotations = data.get("annotations") or {}
        if (
            not isinstance(media_type, str)
            or not isinstance(digest, str)
            or not is_digest(digest)
            or not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
            or not isinstance(annotations, dict)
        ):
            raise LayoutError(f"{what}: malformed descriptor {json.dumps(data)[:200]}")
        artifact_type = data.get("artifactType")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            annotations={str(k): str(v) for k, v in annotations.items()},
            artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        )

    def with_annotations(self, **extra: str) -> Descriptor:
        """A copy with ``extra`` annotations added (or replaced)."""
        merged = {**self.annotations, **extra}
        return Descriptor(self.media_type, self.digest, self.size, merged, self.artifact_type)

    def without_annotation(self, key: str) -> Descriptor:
        rest = {k: v for k, v in self.annotations.items() if k != key}
        return Descriptor(self.media_type, self.digest, self.size, rest, self.artifact_type)


@dataclass(frozen=True)
class Manifest:
    """A parsed image manifest (the parts roost uses)."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str]
    artifact_type: str | None

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """The config then the layers: every blob the manifest needs."""
        return (self.config, *self.layers)


def encode(document: Mapping[str, Any]) -> bytes:
    """Compact JSON, keys in the order given: the bytes whose digest names the document."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def build_manifest(
    config: Descriptor,
    layers: list[Descriptor],
    *,
    annotations: Mapping[str, str] | None = None,
    artifact_type: str = SERVICE_ARTIFACT,
) -> bytes:
    """The bytes of an OCI image manifest for ``config`` and ``layers``."""
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": artifact_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if annotations:
        document["annotations"] = dict(sorted(annotations.items()))
    return encode(document)


def parse_manifest(data: bytes, *, what: str) -> Manifest:
    """Parse image manifest bytes; :class:`LayoutError` naming ``what`` if they are not one.

    Indexes (multi-platform images) are refused with a clear message: a roost artifact is a
    single manifest, and picking a platform on someone's behalf would be a guess.
    """
    try:
        document = json.loads(data)
    except ValueError:
        raise LayoutError(f"{what}: the manifest is not JSON") from None
    if not isinstance(document, dict):
        raise LayoutError(f"{what}: the manifest is not a JSON object")
    media_type = document.get("mediaType", MANIFEST)
    if media_type in (INDEX, DOCKER_MANIFEST_LIST) or "manifests" in document:
        raise LayoutError(
            f"{what} is an index of several manifests, not one artifact",
            hint="name one of its manifests by digest",
        )
    if document.get("schemaVersion") != 2 or media_type not in (MANIFEST, DOCKER_MANIFEST):
        raise LayoutError(f"{what}: not an OCI image manifest (mediaType {media_type!r})")
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise LayoutError(f"{what}: the manifest has no layers list")
    annotations = document.get("annotations") or {}
    artifact_type = document.get("artifactType")
    return Manifest(
        media_type=media_type,
        config=Descriptor.from_json(document.get("config"), what=f"{what} config"),
        layers=tuple(
            Descriptor.from_json(layer, what=f"{what} layer {index}")
            for index, layer in enumerate(layers)
        ),
        annotations={str(k): str(v) for k, v in annotations.items()}
        if isinstance(annotations, dict)
        else {},
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
    )


def empty_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
