"""roost API tokens: 256 random bits, shown once, stored only as their sha256.

A token is high-entropy, so a plain sha256 is enough to make the stored hash useless to a
thief (nothing to guess offline, unlike a password); a slow or keyed hash would only cost time
on every request. The prefix makes a leaked token recognisable (secret scanners, logs).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

PREFIX = "roost_"
_BYTES = 32
_TOKEN = re.compile(r"^roost_[A-Za-z0-9_-]{43}$")
_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def new_token() -> str:
    """A fresh token (url-safe, 49 characters)."""
    return PREFIX + secrets.token_urlsafe(_BYTES)


def looks_like_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


def token_hash(token: str) -> str:
    """What the store keeps of a token: hex sha256."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_lifetime(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` → a timedelta; ValueError with the rule otherwise."""
    found = _DURATION.match(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise ValueError(f"bad lifetime {text!r}: a positive number and m, h, d or w (e.g. 30d)")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
