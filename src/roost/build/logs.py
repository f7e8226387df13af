"""Where a build keeps its files, and reading step logs (tail, follow).

::

    .roost/builds/<build id>/logs/<step>.log     what the step printed (stdout and stderr)
    .roost/builds/<build id>/work/               the commit's files while the build runs
    .roost/cache/<service>/<step>/<key>.tar.gz   step caches (see roost.build.caching)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

BUILDS_DIR = Path(".roost") / "builds"
CACHE_DIR = Path(".roost") / "cache"


def build_dir(root: Path, build_id: str) -> Path:
    return root / BUILDS_DIR / build_id


def log_path(root: Path, build_id: str, step: str) -> Path:
    return build_dir(root, build_id) / "logs" / f"{step}.log"


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of ``path`` (reads at most the last 64 KiB)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            data = handle.read()
    except OSError:
        return []
    text = data.decode(errors="replace")
    return text.splitlines()[-lines:]


def follow(
    paths: Sequence[tuple[str, Path]],
    *,
    finished: Callable[[], bool],
    sleep: Callable[[float], None],
    poll: float = 0.2,
) -> Iterator[tuple[str, str]]:
    """Yield ``(step, line)`` for every complete line the logs get, as they get it, until
    ``finished()`` is true and everything written before that has been read."""
    offsets = {name: 0 for name, _ in paths}
    partial = {name: b"" for name, _ in paths}
    while True:
        done = finished()  # read once more after the build ended: nothing is lost
        for name, path in paths:
            try:
                with path.open("rb") as handle:
                    handle.seek(offsets[name])
                    data = handle.read()
            except FileNotFoundError:
                continue
            offsets[name] += len(data)
            *complete, partial[name] = (partial[name] + data).split(b"\n")
            for line in complete:
                yield name, line.decode(errors="replace")
        if done:
            for name, rest in partial.items():
                if rest:
                    yield name, rest.decode(errors="replace")
            return
        sleep(poll)
