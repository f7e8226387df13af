"""Digests of secret values that people may see: keyed, so they cannot be guessed offline.

An unsalted ``sha256`` of a short secret is a lookup away from the secret itself. Releases
therefore pin ``hmac-sha256:`` digests under a per-project digest key that lives with the KEK
material (0600, outside the project). Releases cut before that pinned plain ``sha256:``
digests; :meth:`Digester.rekey_legacy` turns one into ``hmac-sha256-legacy:`` (an HMAC of the
old digest), which still verifies a value but no longer reveals it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

PREFIX = "hmac-sha256:"
LEGACY_PREFIX = "hmac-sha256-legacy:"
_PLAIN = "sha256:"


def is_plain_digest(digest: object) -> bool:
    """Whether ``digest`` is an old unkeyed ``sha256:`` digest (never to be shown again)."""
    return isinstance(digest, str) and digest.startswith(_PLAIN)


def _plain(value: str) -> str:
    return _PLAIN + hashlib.sha256(value.encode()).hexdigest()


class Digester:
    """Keyed digests of secret values under one project's digest key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, data: str) -> str:
        return hmac.new(self._key, data.encode(), hashlib.sha256).hexdigest()

    def digest(self, value: str) -> str:
        return PREFIX + self._mac(value)

    def rekey_legacy(self, plain_digest: str) -> str:
        """The keyed form of an old ``sha256:`` digest."""
        return LEGACY_PREFIX + self._mac(plain_digest)

    def matches(self, value: str, digest: object) -> bool:
        """Whether ``value`` is the value ``digest`` was made of (any of the three forms)."""
        if not isinstance(digest, str):
            return False
        if digest.startswith(LEGACY_PREFIX):
            return hmac.compare_digest(self.rekey_legacy(_plain(value)), digest)
        if digest.startswith(PREFIX):
            return hmac.compare_digest(self.digest(value), digest)
        return hmac.compare_digest(_plain(value), digest)

    def __repr__(self) -> str:
        return "Digester(<key>)"


WITHHELD = "withheld (an unkeyed digest from before sealed secrets)"


def withhold_plain(pins: Mapping[str, Any]) -> dict[str, Any]:
    """A release's pinned secrets as they may be shown: an old unkeyed digest (one that
    :meth:`Digester.rekey_legacy` has not replaced yet) is withheld."""
    shown: dict[str, Any] = {}
    for name, pin in pins.items():
        plain = isinstance(pin, Mapping) and is_plain_digest(pin.get("digest"))
        shown[name] = {**pin, "digest": WITHHELD} if plain else pin
    return shown


def withhold_in_cloudevent(event: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvent as it may be shown: the pinned secrets some events carry in
    ``data.secrets`` (a forced rollback's plan) lose their unkeyed digests. The stored event
    is not changed — the audit chain covers it as it was written."""
    data = event.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("secrets"), Mapping):
        return {**event, "data": {**data, "secrets": withhold_plain(data["secrets"])}}
    return event
