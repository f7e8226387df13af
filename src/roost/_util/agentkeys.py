"""The secret an agent shares with its control plane, and the keys derived from it.

The agent obeys only its control plane (ARCHITECTURE.md, "Trust boundaries"). Its API listens on
127.0.0.1, where every local user can connect, so a connection proves nothing: every call but
``/healthz`` and ``/metrics`` must carry a credential that only the project's owner can read.
That is one random secret in ``.roost/agent/agent.key`` (mode 0600), created by the first agent
that starts; the control plane and the CLI, running as the same user, read it from there.

Three keys are derived from it, one per use, so that a value seen in one place is worthless in
another (HMAC-SHA256 with a label per use):

* the **API credential**, sent as a bearer token on every call;
* the **fence key**: the control plane signs each fencing token it sends (with the
  environment, the service and an expiry), and the agent refuses a token whose signature does
  not verify, so no one can push the router's token up and lock the leader out;
* the **routes key**: the agent seals ``routes.json`` with it, so a restarted agent trusts no
  fencing token from a file it did not write itself.

Stdlib only: the agent's supervisor and every layer may import it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

KEY_FILE = "agent.key"
KEY_BYTES = 32
FENCE_TTL = 60
"""Seconds a signed fencing token stays valid: enough for one call, worthless as a replay."""
FENCE_MAX_AHEAD = 600
"""A signature expiring further ahead than this was not made for one call: refused."""

_API = b"roost agent api v1"
_FENCE = b"roost agent fence v1"
_ROUTES = b"roost agent routes v1"


class AgentKeyError(Exception):
    """The agent's key cannot be read or is not safe to use; the message says why and what to
    do."""


def _derive(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, label, hashlib.sha256).digest()


@dataclass(frozen=True)
class AgentKeys:
    """The keys derived from one agent's secret. Its ``repr`` shows none of them."""

    secret: bytes = field(repr=False)

    @classmethod
    def load(cls, directory: Path) -> AgentKeys:
        """The keys from ``directory/agent.key``; :class:`AgentKeyError` when it is missing,
        unreadable (another user's project) or readable by others (then it may have leaked)."""
        path = directory / KEY_FILE
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise AgentKeyError(f"{path} does not exist (no agent has started here)") from None
        except OSError as exc:
            raise AgentKeyError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise AgentKeyError(f"{path} is not a regular file")
            if info.st_mode & 0o077:
                raise AgentKeyError(
                    f"{path} is readable or writable by others (mode "
                    f"{stat.S_IMODE(info.st_mode):04o}): the agent's credential may have "
                    "leaked; delete it and restart the agent (`roost down`, `roost up`) for a "
                    "new one"
                )
            raw = os.read(fd, 4 * KEY_BYTES).strip()
        finally:
            os.close(fd)
        try:
            secret = bytes.fromhex(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            secret = b""
        if len(secret) < KEY_BYTES:
            raise AgentKeyError(f"{path} holds no valid key; delete it and restart the agent")
        return cls(secret)

    @classmethod
    def ensure(cls, directory: Path) -> AgentKeys:
        """The keys of ``directory``, creating the secret (0600, in a 0700 folder when the
        folder is new) on first use. Safe when two agents start at once: the secret is written
        to a private file first and linked into place only if none exists."""
        path = directory / KEY_FILE
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = directory / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, secrets.token_bytes(KEY_BYTES).hex().encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another agent was first: use its key
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        return cls.load(directory)

    # -- the API credential -------------------------------------------------------------------

    @property
    def credential(self) -> str:
        """The bearer token every call to the agent's API carries."""
        return _derive(self.secret, _API).hex()

    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        return f"Bearer {self.credential}"

    def authorizes(self, header: str | bytes | None) -> bool:
        """Whether an ``Authorization`` header carries this agent's credential (in constant
        time: a timing difference must not reveal how much of a guess was right)."""
        if header is None:
            return False
        given = header.encode("latin-1") if isinstance(header, str) else header
        return hmac.compare_digest(given, self.authorization().encode("ascii"))

    # -- fencing tokens -----------------------------------------------------------------------

    def sign_fence(self, *, environment: str, service: str, token: int, expires: int) -> str:
        """The control plane's signature on ``token`` for one weight change."""
        message = f"{environment}\n{service}\n{token}\n{expires}".encode()
        return hmac.new(_derive(self.secret, _FENCE), message, hashlib.sha256).hexdigest()

    def fence_signed(
        self, signature: str, *, environment: str, service: str, token: int, expires: int
    ) -> bool:
        """Whether ``signature`` is this agent's control plane's, for exactly these values."""
        expected = self.sign_fence(
            environment=environment, service=service, token=token, expires=expires
        )
        return hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode())

    # -- routes.json --------------------------------------------------------------------------

    def seal(self, payload: bytes) -> str:
        """The MAC the agent stores next to ``payload`` (routes.json's content)."""
        return hmac.new(_derive(self.secret, _ROUTES), payload, hashlib.sha256).hexdigest()

    def sealed(self, payload: bytes, mac: object) -> bool:
        """Whether ``mac`` is this agent's seal on ``payload``."""
        if not isinstance(mac, str):
            return False
        return hmac.compare_digest(mac.encode("ascii", "replace"), self.seal(payload).encode())
