"""Sealed secrets: the keys and the envelope encryption behind ``roost secret``.

Each stored value is encrypted with AES-256-GCM under its own random data key; the data key
is stored beside it, wrapped (AES-256-GCM again) under the key-encryption key (KEK). The KEK
never enters the state store: it comes from ``$ROOST_SECRET_KEY``, from ``key_command`` in
roost.yaml, or from a key file outside the project (see :mod:`roost.secrets.keys`). Digests
shown to people are HMAC-SHA256 under a per-project digest key, so a short value cannot be
guessed offline from a release (:mod:`roost.secrets.digests`).

This package does no database I/O: :mod:`roost.store.secrets` keeps the sealed rows and
``roost.control.releases.vault`` joins the two.
"""

from roost.secrets.digests import (
    LEGACY_PREFIX,
    Digester,
    is_plain_digest,
    withhold_in_cloudevent,
    withhold_plain,
)
from roost.secrets.envelope import (
    Sealed,
    SealingError,
    open_value,
    seal_value,
    unwrap_key,
    wrap_key,
)
from roost.secrets.keys import ENV_KEY, KeyRing, KeySource, SecretKeyError, key_dir, parse_key

__all__ = [
    "ENV_KEY",
    "LEGACY_PREFIX",
    "Digester",
    "KeyRing",
    "KeySource",
    "Sealed",
    "SealingError",
    "SecretKeyError",
    "is_plain_digest",
    "key_dir",
    "open_value",
    "parse_key",
    "seal_value",
    "unwrap_key",
    "withhold_in_cloudevent",
    "withhold_plain",
    "wrap_key",
]
