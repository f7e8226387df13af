"""The control plane's signing keys: one active key that signs workload tokens, and the keys it
replaced, kept (public half only) until every token they signed has expired.

They live in one JSON file under the project's state directory (``.roost/identity/``, folder
0700, file 0600, rewritten atomically: temp file + rename), so every ``roost serve`` of the
project sees the same keys and ``roost identity rotate-key`` works whether or not one runs. A
lock file serialises the writers (two processes creating the first key, a rotation while the
leader creates one). Readers take no lock: a rename is atomic, and each read checks whether the
file changed since it was last parsed.

Keys are ECDSA P-256 (JWS ``ES256``). A key's ``kid`` is its RFC 7638 JWK thumbprint, so the
same key always has the same id and two keys never share one.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from roost.clock import Clock

ALGORITHM = "ES256"
KEYS_FILE = "signing-keys.json"
LOCK_FILE = "signing-keys.lock"
VERIFY_LEEWAY = timedelta(seconds=60)
"""How long past the last expiry a retired key stays published: verifiers' clocks differ."""
ROTATION_NOTICE = timedelta(seconds=60)
"""How long a new key is published before it signs. Verifiers cache the key set and fetch it
again for an unknown ``kid`` only so often (PyJWKClient: at most every 30 s), so a token
signed by a key published a moment ago could be refused; a minute's notice avoids that."""


class KeyStoreError(Exception):
    """The key file is unreadable or damaged (one line, with a hint)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class PublicKey:
    """A key as verifiers see it: its JWK, and until when it verifies (None: it is active)."""

    kid: str
    jwk: dict[str, str]
    created_at: datetime
    signs_from: datetime | None = None
    """When it starts (or started) signing: published a notice ahead (ROTATION_NOTICE)."""
    retired_at: datetime | None = None
    """When its successor takes over signing."""
    verify_until: datetime | None = None
    """When the JWKS stops listing it: every token it signed has expired by then."""

    def published(self, now: datetime) -> bool:
        """Whether the JWKS still lists it at ``now``."""
        return self.verify_until is None or now < self.verify_until


@dataclass(frozen=True)
class SigningKey:
    """The active key: its private half signs, its ``kid`` goes into every token's header."""

    kid: str
    private: ec.EllipticCurvePrivateKey
    public: PublicKey

    def __repr__(self) -> str:  # never the private key
        return f"SigningKey(kid={self.kid!r})"


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    canonical = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    return {name: str(jwk[name]) for name in ("kty", "crv", "x", "y")}


class KeyStore:
    """The signing keys in ``directory`` (see the module doc). Thread-safe."""

    def __init__(self, directory: Path, *, clock: Clock, token_lifetime: timedelta) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self.token_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._entries: list[dict[str, Any]] = []

    @property
    def path(self) -> Path:
        return self.directory / KEYS_FILE

    # -- reading --------------------------------------------------------------------------------

    def public_keys(self) -> list[PublicKey]:
        """Every key the JWKS lists now: the active one and retired ones not yet expired."""
        now = self.clock.now()
        with self._lock:
            entries = self._read()
        keys = [_public(entry) for entry in entries]
        return [key for key in keys if key.published(now)]

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set (RFC 7517) verifiers fetch."""
        return {
            "keys": [
                {**key.jwk, "kid": key.kid, "use": "sig", "alg": ALGORITHM}
                for key in self.public_keys()
            ]
        }

    def signing_key(self) -> SigningKey:
        """The active key: the newest one whose notice has passed. The first one is created
        (signing at once: no verifier can have cached an older set) on first use; a replaced
        key's private half is removed from the file once it has stopped signing."""
        with self._lock:
            now = self.clock.now()
            entries = self._read()
            active = _active(entries, now)
            if active is None or _pruned(entries, now) != entries:
                with self._writing():
                    entries = _pruned(self._read(), now)
                    active = _active(entries, now)
                    if active is None:
                        active = self._new_entry(signs_from=now)
                        entries = [*entries, active]
                    self._write(entries)
            return _signing(active)

    # -- rotating -------------------------------------------------------------------------------

    def rotate(self, *, notice: timedelta = ROTATION_NOTICE) -> tuple[PublicKey, PublicKey | None]:
        """Publish a new key that signs from ``notice`` from now on; the key it replaces signs
        until then and stays published (its private half dropped once it stops signing) until
        every token it signed has expired: ``notice`` + the token lifetime + a leeway. Keys past
        that are removed. Returns (new, replaced)."""
        now = self.clock.now()
        signs_from = now + notice
        verify_until = signs_from + self.token_lifetime + VERIFY_LEEWAY
        with self._lock, self._writing():
            entries = self._read()
            replaced: PublicKey | None = None
            kept = []
            for entry in entries:
                current = dict(entry)
                if current.get("verify_until") is None:  # active, or published and waiting
                    current["retired_at"] = signs_from.isoformat()
                    current["verify_until"] = verify_until.isoformat()
                    replaced = _public(current)
                kept.append(current)
            kept.append(self._new_entry(signs_from=signs_from))
            self._write(_pruned(kept, now))
            return _public(kept[-1]), replaced

    # -- the file -------------------------------------------------------------------------------

    def _new_entry(self, *, signs_from: datetime) -> dict[str, Any]:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = _public_jwk(private.public_key())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return {
            "kid": thumbprint(jwk),
            "alg": ALGORITHM,
            "created_at": self.clock.now().isoformat(),
            "signs_from": signs_from.isoformat(),
            "public_jwk": jwk,
            "private_pem": pem.decode(),
            "retired_at": None,
            "verify_until": None,
        }

    def _read(self) -> list[dict[str, Any]]:
        """The entries, parsed again only when the file changed (another process rotated)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._entries = None, []
            return []
        if stat.st_mode & 0o077:
            raise KeyStoreError(
                f"the signing key file {self.path} is readable by others: its keys may have "
                "leaked, so roost does not use them",
                hint=f"chmod 600 {self.path}, then `roost identity rotate-key --immediately`",
            )
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                data = json.loads(self.path.read_text())
                entries = data["keys"]
                if not isinstance(entries, list):
                    raise TypeError("keys is not a list")
                for entry in entries:
                    _public(entry)  # every entry must at least parse
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise KeyStoreError(
                    f"the signing key file {self.path} is damaged: {exc}",
                    hint="restore it from a backup, or remove it: a new key is made and "
                    "tokens signed by the old ones stop verifying",
                ) from None
            self._seen, self._entries = seen, entries
        return self._entries

    def _write(self, entries: list[dict[str, Any]]) -> None:
        tmp = self.path.with_name(f".{KEYS_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"keys": entries}, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self._seen = None  # parse what was written on the next read

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        _private_dir(self.directory)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._seen = None  # another process may have written while we waited
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def __repr__(self) -> str:
        return f"KeyStore({str(self.directory)!r})"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _public(entry: dict[str, Any]) -> PublicKey:
    created = _when(entry["created_at"])
    if created is None or not isinstance(entry["kid"], str):
        raise ValueError("a key without kid or created_at")
    return PublicKey(
        kid=entry["kid"],
        jwk={str(k): str(v) for k, v in dict(entry["public_jwk"]).items()},
        created_at=created,
        signs_from=_when(entry.get("signs_from")),
        retired_at=_when(entry.get("retired_at")),
        verify_until=_when(entry.get("verify_until")),
    )


def _active(entries: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The newest key with a private half whose notice has passed."""
    ready = [
        entry
        for entry in entries
        if entry.get("private_pem") and (_when(entry.get("signs_from")) or now) <= now
    ]
    return max(ready, key=lambda entry: _when(entry.get("signs_from")) or now, default=None)


def _pruned(entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Without keys no token of which can still be valid, and without the private halves of
    keys that signed their last token (only verifying is left for them)."""
    kept = []
    for entry in entries:
        public = _public(entry)
        if not public.published(now):
            continue
        if public.retired_at is not None and public.retired_at <= now:
            entry = {k: v for k, v in entry.items() if k != "private_pem"}  # noqa: PLW2901
        kept.append(entry)
    return kept


def _signing(entry: dict[str, Any]) -> SigningKey:
    private = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise KeyStoreError(f"key {entry['kid']} is not an EC key")
    return SigningKey(kid=entry["kid"], private=private, public=_public(entry))
