"""Where the key-encryption key (KEK) and the digest key come from.

The KEK is looked up in this order, and never stored in the state store:

1. ``$ROOST_SECRET_KEY`` — 32 random bytes in base64, for CI or a key kept in a password
   manager's environment;
2. ``key_command`` in roost.yaml's ``secret_store:`` — a command whose output is that key
   (``pass show roost/kek``, a cloud KMS CLI, …), run once per process;
3. a key file (default): created on first use with 32 random bytes, in ``$ROOST_KEY_DIR`` or
   ``$XDG_STATE_HOME/roost/keys`` (default ``~/.local/state/roost/keys``), one per project
   state directory (named by a hash of its absolute path), directory 0700 and file 0600 —
   outside the project, so neither a commit nor a copy of ``.roost/`` carries it.

The digest key (for the keyed digests releases show) is always a file in the same folder:
digests must stay comparable across KEK rotations, so it is not rotated with the KEK.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import hashlib
import os
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from roost.secrets.envelope import KEY_BYTES

ENV_KEY = "ROOST_SECRET_KEY"
ENV_KEY_DIR = "ROOST_KEY_DIR"
_COMMAND_TIMEOUT = 60.0
KEY_HINT = (
    "a key is 32 random bytes in base64, e.g. the output of `head -c 32 /dev/urandom | base64`"
)


class SecretKeyError(Exception):
    """The KEK or the digest key cannot be had (one line saying where, and a hint)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class KeySource(enum.StrEnum):
    ENV = "env"
    COMMAND = "command"
    FILE = "file"


def key_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder that holds roost's key files (outside every project)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_DIR):
        return Path(env[ENV_KEY_DIR])
    state_home = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "roost" / "keys"


def kek_id(key: bytes) -> str:
    """A short public name for a KEK (a hash of 256 random bits gives nothing away)."""
    return hashlib.sha256(b"roost kek id\0" + key).hexdigest()[:16]


def parse_key(text: str | bytes, *, where: str) -> bytes:
    """The 32 bytes a base64 key text holds; :class:`SecretKeyError` naming ``where``."""
    raw = text.strip() if isinstance(text, bytes) else text.strip().encode()
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            key = decode(raw)
        except (binascii.Error, ValueError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise SecretKeyError(f"{where} is not a roost secret key", hint=KEY_HINT)


def _private_dir(path: Path) -> None:
    """Create ``path`` (0700) if needed; refuse one that is a symlink or someone else's."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SecretKeyError(f"{path} is not a plain directory: roost keeps its keys there")
    if info.st_uid != os.getuid():
        raise SecretKeyError(f"{path} belongs to another user: roost keeps its keys there")
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)


def _read_private(path: Path) -> bytes | None:
    """The bytes of key file ``path`` (None if missing); refused when others may read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretKeyError(f"cannot read the key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(source.fileno())
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise SecretKeyError(
                f"{path} may be read by other users: roost will not use it",
                hint=f"chmod 600 {path}",
            )
        return source.read()


def _write_private(path: Path, data: bytes, *, exclusive: bool) -> bool:
    """Write ``data`` to ``path`` (0600) atomically; with ``exclusive``, False if it exists."""
    _private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    try:
        if exclusive:
            # link, not rename: two processes racing to create the key agree on the first.
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
            tmp = None  # type: ignore[assignment]
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return True


def _new_key_text() -> tuple[bytes, bytes]:
    key = os.urandom(KEY_BYTES)
    return key, base64.b64encode(key) + b"\n"


class KeyRing:
    """One project's KEK and digest key, loaded on first use and then kept in memory.

    ``state_dir`` is the project's ``.roost`` folder (it names the key files); ``key_command``
    comes from roost.yaml; ``environ`` defaults to this process's environment.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        key_command: Sequence[str] | None = None,
        cwd: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._key_command = tuple(key_command or ())
        self._cwd = cwd
        ident = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:32]
        folder = key_dir(self._environ)
        self.key_file = folder / f"{ident}.secrets.key"
        self.pending_file = folder / f"{ident}.secrets.key.next"
        self.digest_file = folder / f"{ident}.digest.key"
        self._kek: tuple[str, bytes] | None = None
        self._digest_key: bytes | None = None

    @property
    def source(self) -> KeySource:
        if self._environ.get(ENV_KEY):
            return KeySource.ENV
        if self._key_command:
            return KeySource.COMMAND
        return KeySource.FILE

    def describe(self) -> str:
        """Where the KEK comes from, for messages (never the key)."""
        if self.source is KeySource.ENV:
            return f"${ENV_KEY}"
        if self.source is KeySource.COMMAND:
            return f"key_command ({self._key_command[0]})"
        return str(self.key_file)

    def kek(self, *, create: bool = True) -> tuple[str, bytes]:
        """(id, key) of the current KEK; a key file is created when ``create`` and missing."""
        if self._kek is None:
            key = self._load_kek(create=create)
            self._kek = (kek_id(key), key)
        return self._kek

    def reload(self) -> None:
        """Forget the KEK kept in memory: another process (``roost secret rotate-key``) may
        have replaced it since this one read it — a long-running ``roost serve`` must not
        seal with, or look only for, a key that is no longer current."""
        self._kek = None

    def kek_for(self, wanted: str) -> bytes:
        """The KEK whose id is ``wanted``: the current one (read again if the one in memory
        is not it), or — after a rotation that stopped between committing the re-wrapped keys
        and replacing the key file — the pending one, which is then made current (finishing
        that rotation)."""
        current_id, current = self.kek()
        if wanted == current_id:
            return current
        self.reload()
        current_id, current = self.kek()
        if wanted == current_id:
            return current
        if self.source is KeySource.FILE:
            pending = _read_private(self.pending_file)
            if pending is not None:
                key = parse_key(pending, where=str(self.pending_file))
                if kek_id(key) == wanted:
                    os.replace(self.pending_file, self.key_file)
                    self._kek = (wanted, key)
                    return key
        raise SecretKeyError(
            f"the secrets were sealed under another key-encryption key ({wanted}) than the one "
            f"in {self.describe()} ({current_id})",
            hint="use the key they were sealed with (see docs/secrets.md, Keys)",
        )

    def digest_key(self) -> bytes:
        if self._digest_key is None:
            data = _read_private(self.digest_file)
            if data is None:
                key, text = _new_key_text()
                if not _write_private(self.digest_file, text, exclusive=True):
                    data = _read_private(self.digest_file)
                else:
                    self._digest_key = key
            if self._digest_key is None:
                assert data is not None
                self._digest_key = parse_key(data, where=str(self.digest_file))
        return self._digest_key

    # -- rotation -------------------------------------------------------------------------------

    def prepare_rotation(self, new_key: bytes | None) -> tuple[str, bytes]:
        """The next KEK: ``new_key``, or (key file only) a new random one saved beside the
        current file as ``.next`` until :meth:`finish_rotation`."""
        if self.source is not KeySource.FILE:
            if new_key is None:
                raise SecretKeyError(
                    f"the key comes from {self.describe()}: give the new one with --new-key-file",
                    hint="then make that source return the new key",
                )
            return kek_id(new_key), new_key
        key, text = (new_key, base64.b64encode(new_key) + b"\n") if new_key else _new_key_text()
        _write_private(self.pending_file, text, exclusive=False)
        return kek_id(key), key

    def finish_rotation(self, new: tuple[str, bytes]) -> None:
        """The store now holds every data key wrapped under ``new``: make it the current KEK."""
        if self.source is KeySource.FILE:
            os.replace(self.pending_file, self.key_file)
        self._kek = new

    def abandon_rotation(self) -> None:
        """A rotation failed before the store changed: the current KEK stays."""
        if self.source is KeySource.FILE:
            with contextlib.suppress(FileNotFoundError):
                self.pending_file.unlink()

    # -- loading --------------------------------------------------------------------------------

    def _load_kek(self, *, create: bool) -> bytes:
        source = self.source
        if source is KeySource.ENV:
            return parse_key(self._environ[ENV_KEY], where=f"${ENV_KEY}")
        if source is KeySource.COMMAND:
            return self._run_command()
        data = _read_private(self.key_file)
        if data is None:
            if not create:
                raise SecretKeyError(
                    f"the key-encryption key is missing ({self.key_file})",
                    hint="restore it from your backup, or set $ROOST_SECRET_KEY",
                )
            key, text = _new_key_text()
            if _write_private(self.key_file, text, exclusive=True):
                return key
            data = _read_private(self.key_file)
            assert data is not None
        return parse_key(data, where=str(self.key_file))

    def _run_command(self) -> bytes:
        where = f"key_command {self._key_command[0]!r}"
        try:
            done = subprocess.run(
                list(self._key_command),
                cwd=self._cwd,
                capture_output=True,
                timeout=_COMMAND_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise SecretKeyError(
                f"{where}: command not found", hint="fix secret_store.key_command in roost.yaml"
            ) from None
        except subprocess.TimeoutExpired:
            raise SecretKeyError(f"{where} did not finish within {_COMMAND_TIMEOUT:.0f}s") from None
        if done.returncode != 0:
            raise SecretKeyError(
                f"{where} failed with exit code {done.returncode}",
                hint="run it yourself to see why",
            )
        return parse_key(done.stdout, where=where)

    def __repr__(self) -> str:
        return f"KeyRing(source={self.source.value!r}, loaded={self._kek is not None})"
