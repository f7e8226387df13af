"""Signed checkpoints in the audit chain: an HMAC over the chain's head, under a key kept in a
file outside the database.

The hash chain alone shows edits, deletions and reorderings, but someone who can write the
database could rewrite an event *and every hash after it*. A checkpoint is an event
(``dev.roost.audit.checkpoint``) whose data signs its own parent — ``{"head": prev_hash,
"events": how many came before, "hmac": …, "key_id": …}`` — so a rewrite of anything before a
checkpoint also needs the key. The key file is created 0600 on first use (32 random bytes, hex);
the database never sees the key, only its ``key_id`` (a hash of it, to say which key signed).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from roost._util import event_catalog

CHECKPOINT_TYPE = event_catalog.AUDIT_CHECKPOINT
KEY_BYTES = 32


class CheckpointKeyError(Exception):
    """The key file cannot be read or created; the message says which and why."""


def load_key(path: Path, *, create: bool) -> bytes:
    """The key in ``path``; with ``create``, a new one written 0600 if there is none."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        if not create:
            raise CheckpointKeyError(f"no audit key at {path}") from None
        return _create(path)
    except OSError as exc:
        raise CheckpointKeyError(f"cannot read the audit key {path}: {exc.strerror}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise CheckpointKeyError(f"the audit key {path} is not hex") from None
    if len(key) < KEY_BYTES:
        raise CheckpointKeyError(f"the audit key {path} is shorter than {KEY_BYTES} bytes")
    return key


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two first uses at once must not end with two different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(path, create=False)
    except OSError as exc:
        raise CheckpointKeyError(f"cannot create the audit key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"roost audit key id:" + key).hexdigest()[:16]


def sign(key: bytes, head: str, events: int) -> dict[str, Any]:
    """A checkpoint's data: it vouches that ``events`` events, ending at ``head``, came first."""
    mac = hmac.new(key, f"{events}:{head}".encode("ascii"), hashlib.sha256).hexdigest()
    return {"head": head, "events": events, "hmac": mac, "key_id": key_id(key)}


def check(key: bytes | None, data: Any, *, prev_hash: str, position: int) -> str | None:
    """Why checkpoint ``data`` (the ``position``-th event, whose parent is ``prev_hash``) does
    not hold, or None. Without a key only its structure can be checked."""
    if not isinstance(data, dict):
        return "its data is not a checkpoint"
    if data.get("head") != prev_hash or data.get("events") != position - 1:
        return "it does not sign the events before it"
    if key is None:
        return None
    if data.get("key_id") != key_id(key):
        return f"it was signed with another key (key id {data.get('key_id')!r})"
    expected = sign(key, prev_hash, position - 1)["hmac"]
    if not hmac.compare_digest(str(data.get("hmac", "")), expected):
        return "its signature is wrong: forged, or the chain before it was rewritten"
    return None
