"""Packaging a service's files as a roost service artifact, and unpacking one.

The artifact has two ``tar+gzip`` layers:

1. ``dependencies`` — the locked dependency set: lock files at the top of the service folder
   (``requirements.txt``, ``requirements.lock``, ``uv.lock``, ``poetry.lock``, ``pylock.toml``)
   and a ``wheels/`` folder of vendored wheels if the build made one. It changes rarely, so a
   push usually finds it in the registry already and skips it.
2. ``app`` — every other selected file.

Layers are reproducible: entries sorted, owners zeroed, modes normalised (0644, or 0755 when
executable), modification times set to the commit time, gzip header without a name or time.
The same tree at the same commit always gives the same digests, so an unchanged rebuild
stores nothing new.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roost.artifacts.errors import ArtifactError, LayoutError
from roost.artifacts.layout import OciLayout
from roost.artifacts.manifests import (
    CREATED,
    LAYER_TAR_GZIP,
    MANIFEST,
    REVISION,
    SERVICE,
    SERVICE_ARTIFACT,
    SERVICE_CONFIG,
    TITLE,
    Descriptor,
    build_manifest,
)
from roost.artifacts.selecting import select_files

LOCK_FILES = ("requirements.txt", "requirements.lock", "uv.lock", "poetry.lock", "pylock.toml")
WHEELS_DIR = "wheels"
DEPENDENCIES_LAYER = "dependencies"
APP_LAYER = "app"


@dataclass(frozen=True)
class Packaged:
    """What :func:`package_service` stored: the manifest's descriptor and a summary."""

    descriptor: Descriptor
    tags: tuple[str, ...]
    files: int
    size: int
    """Bytes of config + layers + manifest."""

    @property
    def digest(self) -> str:
        return self.descriptor.digest


def package_service(
    layout: OciLayout,
    source: Path,
    *,
    service: str,
    tags: Iterable[str] = (),
    include: Iterable[str] = ("**",),
    exclude: Iterable[str] = (),
    commit: str = "",
    branch: str = "",
    created: datetime | None = None,
    labels: Mapping[str, str] | None = None,
) -> Packaged:
    """Package the files under ``source`` as a service artifact in ``layout``, tagged ``tags``.

    ``created`` (default: the Unix epoch, for reproducibility) stamps the files and the
    manifest; pass the commit time. Raises :class:`ArtifactError` if nothing is selected.
    """
    moment = (created or datetime.fromtimestamp(0, UTC)).astimezone(UTC)
    paths = list(select_files(source, include=include, exclude=exclude))
    if not paths:
        raise ArtifactError(
            f"nothing to package in {source}",
            hint="check the artifact include/exclude patterns of the build",
        )
    dependencies = [p for p in paths if p in LOCK_FILES or p.startswith(WHEELS_DIR + "/")]
    app = [p for p in paths if p not in set(dependencies)]
    mtime = int(moment.timestamp())
    layout.ensure()
    layers: list[Descriptor] = []
    with layout.staging() as stage:
        for title, members in ((DEPENDENCIES_LAYER, dependencies), (APP_LAYER, app)):
            temp = stage.temp_path()
            _write_layer(temp, source, members, mtime=mtime)
            digest, size = stage.adopt(temp)
            layers.append(Descriptor(LAYER_TAR_GZIP, digest, size, {TITLE: title}))
        created_text = moment.isoformat().replace("+00:00", "Z")
        config = {
            "service": service,
            "created": created_text,
            "source": {"commit": commit, "branch": branch},
            "dependencies": {
                "lock_files": [p for p in dependencies if p in LOCK_FILES],
                "wheels": sum(1 for p in dependencies if p.startswith(WHEELS_DIR + "/")),
            },
            "files": len(paths),
            "labels": dict(sorted((labels or {}).items())),
        }
        config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
        config_digest, config_size = stage.add_unverified([config_bytes])
        config_descriptor = Descriptor(SERVICE_CONFIG, config_digest, config_size)
        annotations = {CREATED: created_text, SERVICE: service}
        if commit:
            annotations[REVISION] = commit
        manifest = build_manifest(config_descriptor, layers, annotations=annotations)
        manifest_digest, manifest_size = stage.add_unverified([manifest])
    descriptor = Descriptor(
        MANIFEST, manifest_digest, manifest_size, artifact_type=SERVICE_ARTIFACT
    )
    layout.add_manifest(descriptor, tags=tags)
    total = config_size + manifest_size + sum(layer.size for layer in layers)
    return Packaged(descriptor, tuple(tags), len(paths), total)


def _write_layer(target: Path, source: Path, members: list[str], *, mtime: int) -> None:
    with target.open("wb") as raw:
        # filename="" and mtime=0 keep the gzip header free of anything that varies.
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            directories: set[str] = set()
            for member in members:
                parts = member.split("/")
                for depth in range(1, len(parts)):
                    parent = "/".join(parts[:depth])
                    if parent not in directories:
                        directories.add(parent)
                        tar.addfile(_info(parent, tarfile.DIRTYPE, 0o755, mtime))
                _add(tar, source, member, mtime)
        raw.flush()
        os.fsync(raw.fileno())


def _info(name: str, kind: bytes, mode: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add(tar: tarfile.TarFile, source: Path, member: str, mtime: int) -> None:
    path = source / member
    status = path.lstat()
    if stat.S_ISLNK(status.st_mode):
        info = _info(member, tarfile.SYMTYPE, 0o777, mtime)
        info.linkname = os.readlink(path)
        tar.addfile(info)
        return
    executable = bool(status.st_mode & stat.S_IXUSR)
    info = _info(member, tarfile.REGTYPE, 0o755 if executable else 0o644, mtime)
    info.size = status.st_size
    with path.open("rb") as handle:
        tar.addfile(info, handle)


def unpack(layout: OciLayout, digest: str, target: Path) -> dict[str, object]:
    """Extract every layer of the artifact ``digest`` into ``target`` (which must exist) and
    return its config. Layers are verified before extraction; tar entries that would escape
    ``target`` (absolute paths, ``..``, links outside) are refused by the ``data`` filter."""
    from roost.artifacts.manifests import parse_manifest

    manifest = parse_manifest(layout.read_blob(digest), what=digest)
    config = json.loads(layout.read_blob(manifest.config.digest))
    for layer in manifest.layers:
        data = layout.read_blob(layer.digest)  # verified
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                tar.extractall(target, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise LayoutError(f"cannot unpack layer {layer.digest} of {digest}: {exc}") from None
    return config if isinstance(config, dict) else {}
