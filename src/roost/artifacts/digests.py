"""Content digests (``sha256:<64 hex>``): parsing, computing, and verifying while streaming.

Only sha256 is produced and accepted. The OCI spec registers sha512 too, but every registry
and tool writes sha256, and accepting an algorithm roost cannot verify would mean trusting
content it cannot check.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from roost.artifacts.errors import BadReference, DigestMismatch

ALGORITHM = "sha256"
DIGEST_PATTERN = r"sha256:[a-f0-9]{64}"
_DIGEST = re.compile(DIGEST_PATTERN)
CHUNK = 1 << 20


def parse_digest(text: str) -> str:
    """``text`` if it is a well-formed sha256 digest; :class:`BadReference` otherwise."""
    if not isinstance(text, str) or not _DIGEST.fullmatch(text):
        raise BadReference(
            f"{text!r} is not a digest",
            hint="a digest looks like sha256: followed by 64 lowercase hex digits",
        )
    return text


def is_digest(text: str) -> bool:
    """Whether ``text`` is a well-formed sha256 digest."""
    return bool(_DIGEST.fullmatch(text))


def digest_bytes(data: bytes) -> str:
    """The digest of ``data``."""
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def digest_file(path: Path) -> tuple[str, int]:
    """The digest and size of the file at ``path``, read in chunks."""
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return f"{ALGORITHM}:{hasher.hexdigest()}", size


def hex_of(digest: str) -> str:
    """The hex part of a digest (the blob's file name in an OCI layout)."""
    return parse_digest(digest).split(":", 1)[1]


def verify_bytes(data: bytes, expected: str, *, what: str) -> bytes:
    """``data`` if it hashes to ``expected``; :class:`DigestMismatch` naming ``what`` if not."""
    actual = digest_bytes(data)
    if actual != expected:
        raise DigestMismatch(f"{what}: expected {expected}, got {actual}")
    return data


def verified_chunks(chunks: Iterable[bytes], expected: str, *, what: str) -> Iterator[bytes]:
    """Pass ``chunks`` through; after the last one, raise :class:`DigestMismatch` if they did
    not hash to ``expected``. A consumer must treat what it received as untrusted until the
    iterator is exhausted without error."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    actual = f"{ALGORITHM}:{hasher.hexdigest()}"
    if actual != expected:
        raise DigestMismatch(f"{what}: expected {expected}, got {actual}")
