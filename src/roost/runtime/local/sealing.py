"""Secret values at rest: sealed with a key that does not live beside them.

The local runtime must be able to restart a replica on its own — after the agent itself was
restarted and adopted the replicas, while the control plane is down — and a restarted replica
needs its secrets again. Three ways were weighed:

* **The control plane re-sends them.** Secrets would never touch the agent's disk, but a replica
  that crashes while the control plane is down (design rule: the data plane outlives the control
  plane) could not be restarted, and the agent would need a channel back to the control plane.
* **Keep them only in the agent's memory.** Lost with the agent: the same hole, worse.
* **Seal them** (chosen). The per-revision state file holds the spec *without* its secret values
  plus one AES-256-GCM blob of them (random 96-bit nonce; the revision's ``service/revision`` as
  associated data, so a blob copied into another revision's file does not open). The key is 32
  random bytes in a key file *outside the project*: ``$ROOST_KEY_DIR`` or
  ``$XDG_STATE_HOME/roost/keys`` (default ``~/.local/state/roost/keys``), one file per state
  directory (named by a hash of its absolute path), directory 0700 and file 0600, refused when
  anyone else may read it. A copy, backup or accidental commit of ``.roost/`` therefore carries
  no usable secret, and a restarted agent reads the key file again to unseal what it adopts.
  The key file is removed when the runtime's last revision is stopped (``roost down``).

Secrets the replica receives as files (``secret_delivery: file``) are not under ``.roost/``
either: see :func:`private_runtime_dir` (a per-user tmpfs directory, removed with the revision).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENV_KEY_DIR = "ROOST_KEY_DIR"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_FORMAT = "aes256gcm:v1:"
# Shared by all users: _private_dir refuses a directory there that is a symlink or not ours.
_SHM = Path("/dev/shm")  # noqa: S108


class SealError(OSError):
    """The key file is missing, unsafe or does not open a blob (one line, says which file)."""


def _state_dir_id(state_dir: Path) -> str:
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:32]


def default_key_file(state_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where the key for ``state_dir``'s sealed secrets lives (outside any project)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_DIR):
        base = Path(env[ENV_KEY_DIR])
    else:
        state_home = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        base = Path(state_home) / "roost" / "keys"
    return base / f"{_state_dir_id(state_dir)}.key"


def _private_dir(path: Path) -> None:
    """Create ``path`` (0700) if needed; refuse one that is a symlink or someone else's."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SealError(f"{path} is not a plain directory: roost keeps private files there")
    if info.st_uid != os.getuid():
        raise SealError(f"{path} belongs to another user: roost keeps private files there")
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)


class Sealer:
    """Seals and unseals one revision's secrets with the key in ``key_file``.

    The key is read (or created) on first use and then kept in memory.
    """

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._key: bytes | None = None

    def seal(self, secrets: Mapping[str, str], *, context: str) -> str:
        """An opaque text holding ``secrets``; only this key and ``context`` open it."""
        key = self._load(create=True)
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(dict(secrets), sort_keys=True).encode()
        sealed = AESGCM(key).encrypt(nonce, plain, context.encode())
        return _FORMAT + base64.b64encode(nonce + sealed).decode()

    def unseal(self, blob: str, *, context: str) -> dict[str, str]:
        """The secrets in ``blob``; :class:`SealError` if it does not open."""
        if not blob.startswith(_FORMAT):
            raise SealError("sealed secrets in an unknown format")
        key = self._load(create=False)
        try:
            raw = base64.b64decode(blob.removeprefix(_FORMAT), validate=True)
            plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
            data = json.loads(plain)
        except (ValueError, InvalidTag):
            raise SealError(
                f"the sealed secrets do not open with the key in {self.key_file} "
                "(a different key, or a damaged state file)"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SealError("sealed secrets of an unexpected shape")
        return {str(k): v for k, v in data.items()}

    def forget(self) -> None:
        """Delete the key (no sealed secret is left to open); a later seal makes a new one."""
        self._key = None
        with contextlib.suppress(FileNotFoundError):
            self.key_file.unlink()

    def _load(self, *, create: bool) -> bytes:
        if self._key is not None:
            return self._key
        try:
            fd = os.open(self.key_file, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            if not create:
                raise SealError(
                    f"the key of the sealed secrets is missing ({self.key_file})"
                ) from None
            self._key = self._create()
            return self._key
        with os.fdopen(fd, "rb") as source:
            info = os.fstat(source.fileno())
            if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
                raise SealError(
                    f"{self.key_file} may be read by other users: roost will not use it "
                    f"(chmod 600 {self.key_file}, or delete it and redeploy)"
                )
            key = source.read()
        if len(key) != _KEY_BYTES:
            raise SealError(f"{self.key_file} is not a roost key ({len(key)} bytes)")
        self._key = key
        return key

    def _create(self) -> bytes:
        _private_dir(self.key_file.parent)
        key = AESGCM.generate_key(bit_length=_KEY_BYTES * 8)
        tmp = self.key_file.with_name(f".{self.key_file.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        try:
            # link, not rename: two agents racing to create the key agree on the first one.
            os.link(tmp, self.key_file)
        except FileExistsError:
            tmp.unlink()
            return self._load(create=False)
        tmp.unlink()
        return key

    def __repr__(self) -> str:
        return f"Sealer({str(self.key_file)!r}, loaded={self._key is not None})"


def private_runtime_dir(state_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """A per-user directory in memory (tmpfs) for files handed to replicas at run time.

    ``$XDG_RUNTIME_DIR/roost`` (the per-user tmpfs of systemd), else ``/dev/shm/roost-UID``,
    else the temporary directory; each state directory gets its own subdirectory. Every level
    roost creates is 0700 and must belong to this user. Nothing there survives a reboot, which
    is fine: the replicas that read these files do not either.
    """
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        base = Path(runtime) / "roost"
    elif _SHM.is_dir():
        base = _SHM / f"roost-{os.getuid()}"
    else:
        base = Path(tempfile.gettempdir()) / f"roost-{os.getuid()}"
    _private_dir(base)
    return base / _state_dir_id(state_dir)
