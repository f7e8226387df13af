"""Which files: glob patterns over project-relative POSIX paths.

One small matcher used everywhere roost picks files — what goes into an artifact, which files
key a build cache, which changed paths trigger a build — so ``**`` means the same thing in
every field of roost.yaml: any number of directories (including none). ``*`` and ``?`` stay
inside one path segment, and a pattern that names a directory covers everything under it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

ALWAYS_EXCLUDED = (".git", ".roost", ".venv", "**/__pycache__", "**/*.pyc")
"""Never packaged: version control, roost's own state, local virtual environments, bytecode."""


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex matching the paths ``pattern`` selects (the path itself or anything below it)."""
    text = pattern.strip()
    while text.startswith("./"):
        text = text[2:]
    text = text.rstrip("/")
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("**/", index):
            out.append("(?:[^/]+/)*")
            index += 3
        elif text.startswith("**", index):
            out.append(".*")
            index += 2
        elif char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(char))
            index += 1
    return re.compile("".join(out) + "(?:/.*)?")


def matches(path: str, patterns: Iterable[str]) -> bool:
    """Whether the POSIX relative ``path`` is selected by any of ``patterns``."""
    return any(compile_glob(pattern).fullmatch(path) for pattern in patterns)


def select_files(
    root: Path, *, include: Iterable[str] = ("**",), exclude: Iterable[str] = ()
) -> Iterator[str]:
    """Relative POSIX paths of the files (and symlinks) under ``root`` that ``include``
    selects and neither ``exclude`` nor :data:`ALWAYS_EXCLUDED` removes, sorted, so the same
    tree always gives the same list."""
    include = tuple(include)
    skip = (*ALWAYS_EXCLUDED, *exclude)
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        kept = []
        for name in dirnames:
            full = prefix + name
            if matches(full, skip):
                continue
            if (Path(directory) / name).is_symlink():
                filenames.append(name)  # a symlink to a directory is packaged as a link
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            full = prefix + name
            if matches(full, include) and not matches(full, skip):
                found.append(full)
    return iter(sorted(found))
