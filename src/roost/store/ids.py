"""ULID-style identifiers: 48 bits of milliseconds from the store's clock + 80 random bits,
in Crockford base32 (26 characters). They sort by creation time; within one process they are
strictly increasing even when the clock stands still (a virtual clock) or steps back."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80


class _Generator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def new(self, now: datetime) -> str:
        millis = max(0, int(now.timestamp() * 1000)) & ((1 << 48) - 1)
        candidate = (millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
        with self._lock:
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
        return _encode(candidate)


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_generator = _Generator()


def new_id(now: datetime) -> str:
    """A new identifier stamped with ``now``."""
    return _generator.new(now)
