"""Where the local runtime keeps things, and what it writes before a replica starts.

::

    STATE_DIR/revisions/SERVICE/REVISION/state.json        spec + replica pids, secrets sealed
    STATE_DIR/revisions/SERVICE/REVISION/config/...        config files ($ROOST_CONFIG_DIR)
    STATE_DIR/revisions/SERVICE/REVISION/replica-N/        the shim's files for replica N
    LOG_DIR/SERVICE/REVISION/replica-N.jsonl[.1 … .5]      what replica N printed
    RUNTIME_DIR/SERVICE/REVISION/secrets/NAME              secret files ($ROOST_SECRETS_DIR)
    RUNTIME_DIR/SERVICE/REVISION/identity/token            workload token
                                                           ($ROOST_IDENTITY_TOKEN_FILE)

Config and secret files are per revision, not in the workdir: two revisions of a service run
side by side from the same workdir during a canary, each with its own config snapshot.

Secret files are the only plain-text copies of secret values roost writes, because a program
that reads its secrets from files needs them there. They are written to ``RUNTIME_DIR``, a
per-user directory in memory outside the project (see
:func:`roost.runtime.local.sealing.private_runtime_dir`): directories 0700, files 0600 from
the moment they are created, rewritten when a restarted runtime adopts the revision and removed
with the revision when it stops. Config files keep only their owner's permission bits (the
replica runs as the same user), so nothing roost writes for a revision is readable by others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from roost.runtime.specs import RevisionSpec

IDENTITY_ENV = "ROOST_IDENTITY_TOKEN_FILE"
MAX_TOKEN_BYTES = 16 * 1024

# Variables a process needs to behave like it does in a shell, kept when inherit_env is off.
_BASIC_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SHELL")


@dataclass(frozen=True)
class RevisionPaths:
    """The directories of one revision."""

    root: Path
    logs: Path
    runtime: Path
    """The revision's directory in memory, for its secret files."""

    @classmethod
    def of(
        cls, state_dir: Path, log_dir: Path, runtime_dir: Path, service: str, revision: str
    ) -> RevisionPaths:
        """Paths for (service, revision)."""
        return cls(
            root=state_dir / "revisions" / service / revision,
            logs=log_dir / service / revision,
            runtime=runtime_dir / service / revision,
        )

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def secrets_dir(self) -> Path:
        return self.runtime / "secrets"

    @property
    def identity_file(self) -> Path:
        """The revision's workload token (:func:`write_identity_token`)."""
        return self.runtime / "identity" / "token"

    def run_dir(self, index: int) -> Path:
        """The shim's directory for replica ``index``."""
        return self.root / f"replica-{index}"

    def log_file(self, index: int) -> Path:
        """The current log file of replica ``index``."""
        return self.logs / f"replica-{index}.jsonl"


def write_revision_files(spec: RevisionSpec, paths: RevisionPaths) -> None:
    """Write the config files and, when delivered as files, the secrets of ``spec``.

    Rewritten on every start and adoption, so a revision directory is always complete.
    """
    _private_dirs(paths.root)
    paths.config_dir.mkdir(exist_ok=True, mode=0o700)
    for item in spec.config_files:
        target = paths.config_dir / item.path
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(item.content)
        target.chmod(item.mode & 0o700)
    if spec.secret_delivery != "env" and spec.secrets:  # noqa: S105 - a mode, not a secret
        _private_dirs(paths.secrets_dir)
        for name, value in spec.secrets.items():
            target = paths.secrets_dir / name
            # Created 0600 from the start: never world-readable, not even for an instant.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(value)
            target.chmod(0o600)


def write_identity_token(paths: RevisionPaths, token: str) -> None:
    """Replace the revision's workload token atomically: written 0600 to a temporary file in
    the same folder, flushed, then renamed over the old one, so a replica reading it at any
    moment sees the old token or the new one, never half of either."""
    data = token.encode("ascii")
    if not data or len(data) > MAX_TOKEN_BYTES or b"\n" in data:
        raise ValueError("a workload token is one line of at most 16 KiB")
    target = paths.identity_file
    _private_dirs(target.parent)
    tmp = target.with_name(f".token.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _private_dirs(path: Path) -> None:
    """``path`` and the parents it needs, each created 0700 (mkdir's mode only applies to the
    last one)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)


def remove_revision_files(paths: RevisionPaths) -> None:
    """Delete the revision's state, config and secrets (its logs stay)."""
    shutil.rmtree(paths.root, ignore_errors=True)
    shutil.rmtree(paths.runtime, ignore_errors=True)
    # Remove the service directories too once their last revision is gone.
    for emptied in (paths.root.parent, paths.runtime.parent, paths.runtime.parent.parent):
        with contextlib.suppress(OSError):
            emptied.rmdir()


def replica_environment(
    spec: RevisionSpec,
    paths: RevisionPaths,
    *,
    index: int,
    port: int,
    base: Mapping[str, str],
) -> dict[str, str]:
    """The environment of replica ``index``: base (all of it, or the basics), the spec's env,
    secrets as variables when so delivered, then roost's variables, which win."""
    env = dict(base) if spec.inherit_env else {k: base[k] for k in _BASIC_ENV if k in base}
    # Python programs block-buffer a pipe: without this their logs arrive in 8 KiB lumps, late.
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(spec.env)
    if spec.secret_delivery in ("env", "both"):
        env.update(spec.secrets)
    env.update(
        {
            "PORT": str(port),
            "ROOST_SERVICE": spec.service,
            "ROOST_REVISION": spec.revision,
            "ROOST_REPLICA": str(index),
            "ROOST_CONFIG_DIR": str(paths.config_dir),
            # Set from the start; the file appears when the control plane first delivers a
            # token (seconds after the start) and is replaced before each one expires.
            IDENTITY_ENV: str(paths.identity_file),
        }
    )
    if spec.secret_delivery in ("file", "both"):
        env["ROOST_SECRETS_DIR"] = str(paths.secrets_dir)
    return env
