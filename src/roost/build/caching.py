"""Step caches: skip a step whose inputs did not change and restore what it produced.

The key is a sha256 over the step's own definition (``run``, ``env``, ``dir``, the cached
``paths``) and the content of every file its ``key_files`` select — not the commit, not the
substitutions (``$COMMIT_SHA`` changes every commit; a cache keyed on it would never hit). So
editing the step or one key file misses; everything else hits.

Entries live in ``.roost/cache/<service>/<step>/<key>.tar.gz``, written to a temporary file and
renamed, so a half-written entry is never restored. The newest few per step are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tarfile
from pathlib import Path

from roost.artifacts.selecting import select_files
from roost.build.errors import BuildError
from roost.spec.building import BuildStep

KEEP_PER_STEP = 5
_KEY_VERSION = 1


class StepCache:
    """The cache of one service's steps under ``root`` (``.roost/cache/<service>``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def key(self, step: BuildStep, context: Path) -> str:
        """The cache key of ``step`` for the files in ``context`` (``sha256:…``)."""
        assert step.cache is not None
        files = []
        for path in select_files(context, include=step.cache.key_files):
            files.append([path, _file_sha256(context / path)])
        definition = {
            "version": _KEY_VERSION,
            "run": step.run,
            "env": dict(sorted(step.env.items())),
            "dir": step.dir,
            "paths": list(step.cache.paths),
            "files": files,
        }
        text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def _entry(self, step: str, key: str) -> Path:
        return self.root / step / f"{key.removeprefix('sha256:')}.tar.gz"

    def restore(self, step: BuildStep, key: str, context: Path) -> bool:
        """Put the cached outputs of ``step`` for ``key`` into ``context``; False on a miss."""
        entry = self._entry(step.name, key)
        if not entry.is_file():
            return False
        try:
            with tarfile.open(entry, "r:gz") as archive:
                archive.extractall(context, filter="data")
        except (tarfile.TarError, OSError):
            entry.unlink(missing_ok=True)  # unreadable: treat as a miss, and rebuild it
            return False
        os.utime(entry)  # recently used: kept by pruning
        return True

    def save(self, step: BuildStep, key: str, context: Path) -> None:
        """Store the outputs of ``step`` (its ``cache.paths`` in ``context``) under ``key``.

        :class:`BuildError` if a path is missing: a step that promises outputs and does not
        produce them is a broken step, and caching nothing would hide it.
        """
        assert step.cache is not None
        missing = [path for path in step.cache.paths if not (context / path).exists()]
        if missing:
            raise BuildError(
                f"step {step.name} did not produce its cached path {missing[0]!r}",
                hint="fix the step or its cache.paths",
            )
        entry = self._entry(step.name, key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        temp = entry.with_name(f".{secrets.token_hex(6)}.tmp")
        try:
            with tarfile.open(temp, "w:gz", compresslevel=1) as archive:
                for path in step.cache.paths:
                    archive.add(context / path, arcname=path)
            temp.replace(entry)
        finally:
            temp.unlink(missing_ok=True)
        self._prune(entry.parent)

    def _prune(self, folder: Path) -> None:
        entries = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_PER_STEP:]:
            old.unlink(missing_ok=True)


def _file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    if path.is_symlink():
        hasher.update(os.readlink(path).encode())
        return hasher.hexdigest()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()
