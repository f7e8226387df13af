"""An OCI image layout on disk: ``oci-layout``, ``index.json`` and ``blobs/sha256/<hex>``.

This is roost's embedded artifact store (``.roost/artifacts/``), and any OCI tool that reads
image layouts (skopeo, oras, crane) can read it too. The rules that keep it trustworthy:

- Content-addressed and atomic: a blob is written to a temporary file in ``.ingest/`` and
  renamed into ``blobs/`` only after its digest checked out, so a blob file is always complete
  and always what its name says. A crash leaves at most an orphaned temporary file.
- Verified on read: reading a blob hashes it again; a file changed behind roost's back raises
  :class:`DigestMismatch` instead of handing out the wrong bytes.
- Tags live in ``index.json`` as ``org.opencontainers.image.ref.name`` annotations. The index
  is rewritten atomically under an exclusive ``flock``, so two builds finishing at once cannot
  lose each other's tags.
- Several blobs that belong together (a pull: manifest, config, layers) are staged first and
  committed together (:meth:`OciLayout.staging`): a failed pull leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.artifacts.digests import (
    CHUNK,
    digest_bytes,
    digest_file,
    hex_of,
    is_digest,
    parse_digest,
    verified_chunks,
    verify_bytes,
)
from roost.artifacts.errors import (
    ArtifactNotFound,
    BadReference,
    DigestMismatch,
    LayoutError,
)
from roost.artifacts.manifests import (
    MANIFEST,
    OCI_LAYOUT_VERSION,
    REF_NAME,
    Descriptor,
    Manifest,
    empty_index,
    parse_manifest,
)

TAG_PATTERN = r"[a-z0-9]+(?:[._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
_TAG = re.compile(TAG_PATTERN)
_PREFIX = re.compile(r"(?:sha256:)?([a-f0-9]{6,64})")


def parse_tag(text: str) -> str:
    """``name:tag`` (``name`` alone means ``name:latest``); :class:`BadReference` otherwise."""
    candidate = text if ":" in text else f"{text}:latest"
    if not _TAG.fullmatch(candidate):
        raise BadReference(
            f"{text!r} is not a tag",
            hint="use NAME:TAG with lowercase NAME, e.g. web:1.4.2 or web:3f2a9c1",
        )
    return candidate


@dataclass(frozen=True)
class Entry:
    """One manifest in the layout's index, with every tag that points at it."""

    descriptor: Descriptor
    tags: tuple[str, ...]

    @property
    def digest(self) -> str:
        return self.descriptor.digest


class OciLayout:
    """An OCI image layout rooted at ``root``; created on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- paths -----------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    @property
    def _ingest(self) -> Path:
        return self.root / ".ingest"

    def blob_path(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (whether or not it exists)."""
        return self.root / "blobs" / "sha256" / hex_of(digest)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def ensure(self) -> OciLayout:
        """Create the layout's skeleton if it is missing; check it if it is there."""
        marker = self.root / "oci-layout"
        try:
            if marker.is_file():
                data = json.loads(marker.read_text())
                if not isinstance(data, dict) or "imageLayoutVersion" not in data:
                    raise LayoutError(f"{marker} is not an OCI layout marker")
                return self
            (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            self._ingest.mkdir(exist_ok=True)
            if not self.index_path.exists():
                _atomic_write(self.index_path, _index_bytes(empty_index()))
            _atomic_write(marker, json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}).encode())
        except OSError as exc:
            raise LayoutError(
                f"cannot use {self.root} as an artifact store: {exc.strerror or exc}"
            ) from None
        except ValueError:
            raise LayoutError(f"{marker} is not valid JSON") from None
        return self

    # -- blobs -----------------------------------------------------------------------------

    def put_bytes(self, data: bytes, *, media_type: str) -> Descriptor:
        """Store ``data`` (idempotent) and return its descriptor."""
        digest = digest_bytes(data)
        with self.staging() as stage:
            stage.add([data], digest=digest)
        return Descriptor(media_type, digest, len(data))

    def put_file(self, path: Path, *, media_type: str) -> Descriptor:
        """Store the file at ``path`` (copied, hashed on the way) and return its descriptor."""
        with self.staging() as stage:
            digest, size = stage.add_unverified(_file_chunks(path))
        return Descriptor(media_type, digest, size)

    def read_blob(self, digest: str) -> bytes:
        """The blob's bytes, verified; :class:`ArtifactNotFound` or :class:`DigestMismatch`."""
        try:
            data = self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFound(f"blob {digest} is not in {self.root}") from None
        return verify_bytes(data, digest, what=f"blob {digest} in {self.root}")

    def iter_blob(self, digest: str) -> Iterator[bytes]:
        """The blob in chunks; raises :class:`DigestMismatch` after the last chunk if the file
        does not hash to ``digest`` (consumers must not trust the bytes before the end)."""
        path = self.blob_path(digest)
        if not path.is_file():
            raise ArtifactNotFound(f"blob {digest} is not in {self.root}")
        return verified_chunks(_file_chunks(path), digest, what=f"blob {digest} in {self.root}")

    @contextlib.contextmanager
    def staging(self) -> Iterator[Staging]:
        """Stage blobs; commit them all when the block ends normally, none if it raises."""
        self.ensure()
        stage = Staging(self)
        try:
            yield stage
        except BaseException:
            stage.discard()
            raise
        stage.commit()

    # -- index -----------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every manifest in the index, in index order, tags grouped by digest."""
        by_digest: dict[str, tuple[Descriptor, list[str]]] = {}
        for descriptor in self._read_index():
            base = descriptor.without_annotation(REF_NAME)
            _, tags = by_digest.setdefault(descriptor.digest, (base, []))
            name = descriptor.annotations.get(REF_NAME)
            if name:
                tags.append(name)
        return [Entry(descriptor, tuple(tags)) for descriptor, tags in by_digest.values()]

    def add_manifest(self, descriptor: Descriptor, *, tags: Iterable[str] = ()) -> None:
        """List ``descriptor`` in the index (its blob must be stored) and point ``tags`` at it.

        A tag that pointed at another manifest moves; that manifest stays listed (untagged),
        so nothing it references is ever considered garbage by a tool reading the index.
        """
        if not self.has_blob(descriptor.digest):
            raise ArtifactNotFound(f"manifest {descriptor.digest} is not stored in {self.root}")
        names = [parse_tag(tag) for tag in tags]
        base = descriptor.without_annotation(REF_NAME)
        with self._index_lock():
            current = self._read_index()
            kept = [item for item in current if item.annotations.get(REF_NAME) not in names]
            listed = {item.digest for item in kept}
            for item in current:  # manifests whose last tag moved away stay listed, untagged
                if item.digest not in listed and item.digest != base.digest:
                    kept.append(item.without_annotation(REF_NAME))
                    listed.add(item.digest)
            if names:
                kept = [k for k in kept if k.digest != base.digest or REF_NAME in k.annotations]
                kept += [base.with_annotations(**{REF_NAME: name}) for name in names]
            elif base.digest not in listed:
                kept.append(base)
            self._write_index(kept)

    def resolve(self, reference: str) -> Descriptor:
        """The manifest descriptor for a tag (``web:3f2a9c1``, ``web`` = ``web:latest``), a
        digest, ``name@digest``, or a unique digest prefix of at least 6 hex digits."""
        entries = self.entries()
        text = reference.split("@", 1)[1] if "@" in reference else reference
        if is_digest(text):
            for entry in entries:
                if entry.digest == text:
                    return entry.descriptor
            if self.has_blob(text):
                data = self.read_blob(text)
                parse_manifest(data, what=text)
                return Descriptor(MANIFEST, text, len(data))
            raise ArtifactNotFound(f"no artifact {text} in {self.root}")
        prefix = _PREFIX.fullmatch(text)
        if prefix and (text.startswith("sha256:") or ":" not in text):
            matches = [e for e in entries if hex_of(e.digest).startswith(prefix.group(1))]
            if len(matches) == 1:
                return matches[0].descriptor
            if len(matches) > 1:
                raise BadReference(
                    f"{reference!r} matches {len(matches)} artifacts", hint="give more digits"
                )
            if text.startswith("sha256:"):
                raise ArtifactNotFound(f"no artifact {reference} in {self.root}")
        tag = parse_tag(text)
        for entry in entries:
            if tag in entry.tags:
                return entry.descriptor
        raise ArtifactNotFound(f"no artifact tagged {tag} in {self.root}")

    def manifest(self, reference: str) -> tuple[Descriptor, Manifest]:
        """The descriptor and parsed manifest of ``reference`` (see :meth:`resolve`)."""
        descriptor = self.resolve(reference)
        data = self.read_blob(descriptor.digest)
        return descriptor, parse_manifest(data, what=reference)

    def tags_of(self, digest: str) -> tuple[str, ...]:
        for entry in self.entries():
            if entry.digest == digest:
                return entry.tags
        return ()

    def _read_index(self) -> list[Descriptor]:
        try:
            data = json.loads(self.index_path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise LayoutError(f"cannot read {self.index_path}: {exc}") from None
        manifests = data.get("manifests") if isinstance(data, dict) else None
        if not isinstance(manifests, list):
            raise LayoutError(f"{self.index_path} has no manifests list")
        return [
            Descriptor.from_json(item, what=f"{self.index_path} entry {index}")
            for index, item in enumerate(manifests)
        ]

    def _write_index(self, descriptors: list[Descriptor]) -> None:
        document = empty_index()
        document["manifests"] = [d.to_json() for d in descriptors]
        _atomic_write(self.index_path, _index_bytes(document))

    @contextlib.contextmanager
    def _index_lock(self) -> Iterator[None]:
        self.ensure()
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def __repr__(self) -> str:
        return f"OciLayout({str(self.root)!r})"


class Staging:
    """Blobs written to temporary files, waiting to be committed together."""

    def __init__(self, layout: OciLayout) -> None:
        self._layout = layout
        self._staged: list[tuple[Path, str]] = []

    def add(self, chunks: Iterable[bytes], *, digest: str) -> None:
        """Stage the content of ``chunks``, which must hash to ``digest``: on a mismatch the
        temporary file is removed and :class:`DigestMismatch` raised."""
        parse_digest(digest)
        if self._layout.has_blob(digest):
            # Already stored: drain nothing, keep nothing. Verified content is never rewritten.
            return
        self._staged.append(self._write(verified_chunks(chunks, digest, what=f"blob {digest}")))

    def add_unverified(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Stage content whose digest is not known yet; returns (digest, size)."""
        path, digest = self._write(iter(chunks))
        size = path.stat().st_size
        self._staged.append((path, digest))
        return digest, size

    def adopt(self, temp: Path) -> tuple[str, int]:
        """Stage a finished file that lives in :meth:`temp_path` (moved, not copied)."""
        digest, size = digest_file(temp)
        self._staged.append((temp, digest))
        return digest, size

    def temp_path(self) -> Path:
        """A fresh temporary file name on the layout's file system, for :meth:`adopt`."""
        return self._layout._ingest / f"{secrets.token_hex(8)}.tmp"

    def _write(self, chunks: Iterator[bytes]) -> tuple[Path, str]:
        temp = self.temp_path()
        hasher = hashlib.sha256()
        try:
            with temp.open("wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp, f"sha256:{hasher.hexdigest()}"

    def commit(self) -> None:
        """Move every staged blob into ``blobs/`` (rename: atomic, same file system)."""
        for temp, digest in self._staged:
            target = self._layout.blob_path(digest)
            if target.exists():
                temp.unlink(missing_ok=True)
            else:
                temp.replace(target)
        self._staged.clear()

    def discard(self) -> None:
        """Remove every staged file (the block failed)."""
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _index_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode()


def _atomic_write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


__all__ = ["TAG_PATTERN", "DigestMismatch", "Entry", "OciLayout", "Staging", "parse_tag"]
