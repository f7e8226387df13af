"""Turning an artifact into something the local runtime can run: a directory of its files and a
virtual environment with its locked dependencies.

::

    .roost/releases/sha256-<hex>/app/        the artifact's files: the revision's workdir
    .roost/releases/sha256-<hex>/venv/       its own virtual environment
    .roost/releases/sha256-<hex>/complete.json   written last: the directory is usable

One directory per digest, never shared: two releases with different dependencies run side by
side, each from its own venv, and rolling back to a release finds its directory as it was.
Materializing is idempotent and safe to race (an ``flock`` per digest); a directory without
``complete.json`` is a crashed attempt and is rebuilt from scratch. The colon of the digest is
spelled ``-`` because directory names end up in ``$PATH``, where a colon separates entries.

Dependencies are installed offline (``pip install --no-index``) from the wheels the artifact
carries in ``wheels/``, pinned by its ``requirements.lock`` or ``requirements.txt``: a release
must not depend on an index being up, or resolve differently than when it was built.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from roost.artifacts.digests import hex_of
from roost.artifacts.errors import MaterializeError
from roost.artifacts.layout import OciLayout
from roost.artifacts.packaging import WHEELS_DIR, unpack

ARTIFACTS_DIR = Path(".roost") / "artifacts"
RELEASES_DIR = Path(".roost") / "releases"
COMPLETE = "complete.json"
REQUIREMENT_FILES = ("requirements.lock", "requirements.txt")
_INSTALL_TIMEOUT = 600.0


def layout_of(root: Path) -> OciLayout:
    """The project's embedded artifact store (``<root>/.roost/artifacts``)."""
    return OciLayout(root / ARTIFACTS_DIR)


def release_dir(root: Path, digest: str) -> Path:
    """Where artifact ``digest`` is (or will be) materialized for the project at ``root``."""
    return root / RELEASES_DIR / f"sha256-{hex_of(digest)}"


def venv_of(workdir: Path) -> Path:
    """The virtual environment next to a materialized workdir."""
    return workdir.parent / "venv"


def environment_for(workdir: Path, base_path: str | None = None) -> dict[str, str]:
    """Environment variables that make a process in ``workdir`` use the artifact's venv:
    ``VIRTUAL_ENV`` and ``PATH`` with the venv's ``bin`` first (so ``python3`` is the venv's)."""
    venv = venv_of(workdir)
    path = base_path if base_path is not None else os.environ.get("PATH", os.defpath)
    return {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{path}"}


def materialize(digest: str, *, root: Path, python: str | None = None) -> Path:
    """Unpack artifact ``digest`` from the project's store into its own directory with its
    own venv, and return the workdir (``…/app``). Idempotent; :class:`MaterializeError`,
    :class:`ArtifactNotFound` or :class:`DigestMismatch` if it cannot be done.
    """
    layout = layout_of(root)
    target = release_dir(root, digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / COMPLETE).is_file():
            return target / "app"
        shutil.rmtree(target, ignore_errors=True)  # a crashed attempt
        try:
            _build(layout, digest, target, python or sys.executable)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return target / "app"


def _build(layout: OciLayout, digest: str, target: Path, python: str) -> None:
    app = target / "app"
    app.mkdir(parents=True)
    config = unpack(layout, digest, app)
    requirements = next((app / name for name in REQUIREMENT_FILES if _pins(app / name)), None)
    dependencies = config.get("dependencies")
    lock_files = dependencies.get("lock_files", []) if isinstance(dependencies, dict) else []
    if requirements is None and any(name not in REQUIREMENT_FILES for name in lock_files):
        raise MaterializeError(
            f"artifact {digest[:19]} has {', '.join(lock_files)} but no requirements.lock",
            hint="add a build step that exports it, e.g. "
            "`uv export --frozen --no-hashes -o requirements.lock`, and vendors wheels/",
        )
    venv = target / "venv"
    # pip runs from the wheel Python bundles for ensurepip when there is one: installing pip
    # into every venv costs seconds and leaves a tool the service does not need.
    pip_wheel = _bundled_pip() if requirements is not None else None
    command = [python, "-m", "venv", str(venv)]
    if requirements is None or pip_wheel is not None:
        command.insert(3, "--without-pip")
    _run(command, what="creating the virtual environment", digest=digest)
    if requirements is not None:
        pip = [f"{pip_wheel}/pip"] if pip_wheel is not None else ["-m", "pip"]
        install = [
            str(venv / "bin" / "python"),
            *pip,
            "install",
            "--isolated",
            "--no-index",
            "--disable-pip-version-check",
            "--no-input",
            "--find-links",
            str(app / WHEELS_DIR),
            "-r",
            str(requirements),
        ]
        _run(install, what=f"installing {requirements.name} offline", digest=digest)
    record = {
        "digest": digest,
        "service": config.get("service"),
        "requirements": bool(requirements),
    }
    temp = target / f"{COMPLETE}.tmp"
    temp.write_text(json.dumps(record) + "\n")
    temp.replace(target / COMPLETE)


def _bundled_pip() -> Path | None:
    """The pip wheel bundled with this Python's ensurepip (pip runs straight from a wheel)."""
    try:
        import ensurepip
    except ImportError:  # pragma: no cover - distributions may strip it
        return None
    wheels = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))
    return wheels[-1] if wheels else None


def _pins(path: Path) -> bool:
    """Whether a requirements file names at least one requirement."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


def _run(command: list[str], *, what: str, digest: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise MaterializeError(
            f"{what} for {digest[:19]}: {command[0]} not found",
            hint="install Python 3 with the venv module",
        ) from None
    except subprocess.TimeoutExpired:
        raise MaterializeError(f"{what} for {digest[:19]} took longer than 10 minutes") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        last = next((line for line in reversed(output) if line.strip()), "")
        raise MaterializeError(
            f"{what} for {digest[:19]} failed (exit {result.returncode}): {last}",
            hint="are the locked dependencies' wheels in the artifact's wheels/ folder?",
        )
