"""roost's artifacts: an embedded OCI image layout, service packaging, and the OCI
distribution protocol to push to, pull from and replicate between registries.

    layout = layout_of(project_root)                    # .roost/artifacts
    packaged = package_service(layout, folder, service="web", tags=["web:3f2a9c1"])
    with RegistryClient(ref.base_url) as client:
        push(layout, "web:3f2a9c1", parse_registry_ref("127.0.0.1:5000/shop/web"), client)
    workdir = materialize(packaged.digest, root=project_root)   # files + own venv

Platform layer: it imports nothing from build, control or the CLI. Every error it raises on
purpose is an :class:`ArtifactError` with a one-line message and a hint.
"""

from roost.artifacts.digests import digest_bytes, digest_file, is_digest, parse_digest
from roost.artifacts.distribution import RegistryClient
from roost.artifacts.errors import (
    ArtifactError,
    ArtifactNotFound,
    BadReference,
    DigestMismatch,
    LayoutError,
    MaterializeError,
    RegistryError,
    RegistryRefused,
    RegistryUnreachable,
)
from roost.artifacts.layout import Entry, OciLayout, parse_tag
from roost.artifacts.manifests import Descriptor, Manifest, parse_manifest
from roost.artifacts.materializing import (
    environment_for,
    layout_of,
    materialize,
    release_dir,
    venv_of,
)
from roost.artifacts.packaging import Packaged, package_service, unpack
from roost.artifacts.references import RegistryRef, parse_registry_ref
from roost.artifacts.transferring import Transfer, pull, push, replicate

__all__ = [
    "ArtifactError",
    "ArtifactNotFound",
    "BadReference",
    "Descriptor",
    "DigestMismatch",
    "Entry",
    "LayoutError",
    "Manifest",
    "MaterializeError",
    "OciLayout",
    "Packaged",
    "RegistryClient",
    "RegistryError",
    "RegistryRef",
    "RegistryRefused",
    "RegistryUnreachable",
    "Transfer",
    "digest_bytes",
    "digest_file",
    "environment_for",
    "is_digest",
    "layout_of",
    "materialize",
    "package_service",
    "parse_digest",
    "parse_manifest",
    "parse_registry_ref",
    "parse_tag",
    "pull",
    "push",
    "release_dir",
    "replicate",
    "unpack",
    "venv_of",
]
