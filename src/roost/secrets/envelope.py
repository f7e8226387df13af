"""Envelope encryption: a value under its data key, a data key under the KEK.

Both layers are AES-256-GCM with a fresh random 96-bit nonce, and both bind *associated data*
(the secret's name and version for a value, the same plus the KEK id for a data key), so a
sealed value or a wrapped key copied into another row does not open there.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
KEY_BYTES = 32
_PREFIX = "aes256gcm:"


class SealingError(ValueError):
    """A sealed text that does not open with this key (wrong key, edited or moved row)."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """A value sealed under a fresh data key, and that data key wrapped under the KEK."""

    ciphertext: str
    wrapped_key: str
    kek_id: str

    def __repr__(self) -> str:  # never print ciphertext into logs by accident
        return f"Sealed(kek_id={self.kek_id!r})"


def _encrypt(key: bytes, plain: bytes, context: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain, context.encode())
    return _PREFIX + base64.b64encode(nonce + sealed).decode()


def _decrypt(key: bytes, text: str, context: str) -> bytes:
    if not text.startswith(_PREFIX):
        raise SealingError("a sealed value in an unknown format")
    try:
        raw = base64.b64decode(text.removeprefix(_PREFIX), validate=True)
        return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
    except (ValueError, InvalidTag):
        raise SealingError("does not open with this key (another key, or an edited row)") from None


def wrap_key(kek: bytes, data_key: bytes, *, kek_id: str, context: str) -> str:
    """``data_key`` encrypted under ``kek``; only that KEK and ``context`` unwrap it."""
    return _encrypt(kek, data_key, f"{kek_id}\0{context}")


def unwrap_key(kek: bytes, wrapped: str, *, kek_id: str, context: str) -> bytes:
    key = _decrypt(kek, wrapped, f"{kek_id}\0{context}")
    if len(key) != KEY_BYTES:
        raise SealingError("a wrapped data key of the wrong size")
    return key


def seal_value(kek: bytes, value: str, *, kek_id: str, context: str) -> Sealed:
    """Seal ``value`` under a new random data key, wrapped under ``kek``."""
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    return Sealed(
        ciphertext=_encrypt(data_key, value.encode(), context),
        wrapped_key=wrap_key(kek, data_key, kek_id=kek_id, context=context),
        kek_id=kek_id,
    )


def open_value(kek: bytes, sealed: Sealed, *, context: str) -> str:
    """The value in ``sealed``; :class:`SealingError` if it does not open."""
    data_key = unwrap_key(kek, sealed.wrapped_key, kek_id=sealed.kek_id, context=context)
    return _decrypt(data_key, sealed.ciphertext, context).decode()
