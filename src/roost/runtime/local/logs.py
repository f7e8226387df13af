"""Reading the replicas' JSON Lines log files: history, tails for status, and following.

The shim writes them (see ``_shim.py``): one file per replica, ``replica-N.jsonl``, rotated to
``replica-N.jsonl.1`` … by size. Each file is in time order, so the history of several replicas
is a k-way merge; following polls the current files and notices rotation by the inode changing.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from roost.clock import Clock
from roost.runtime.statuses import LogLine

_ROTATED = re.compile(r"^replica-\d+\.jsonl(?:\.(\d+))?$")
# Reading a big history, hand the event loop back this often so probes keep running.
_YIELD_EVERY = 2000


def parse_line(raw: bytes | str) -> LogLine | None:
    """A stored record as a :class:`LogLine`; None for a damaged or partial line."""
    try:
        data = json.loads(raw)
        return LogLine(
            time=datetime.fromisoformat(data["time"]),
            service=str(data["service"]),
            revision=str(data["revision"]),
            replica=int(data["replica"]),
            stream=str(data["stream"]),
            line=str(data["line"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def replica_files(log_dir: Path, service: str, revision: str | None) -> dict[Path, list[Path]]:
    """Current file → its files oldest first (``.5`` … ``.1``, then itself), per replica."""
    pattern = f"{service}/{revision or '*'}/replica-*.jsonl*"
    groups: dict[Path, list[tuple[int, Path]]] = {}
    for path in log_dir.glob(pattern):
        match = _ROTATED.match(path.name)
        if match is None:
            continue
        generation = int(match.group(1) or 0)
        current = path.with_name(path.name.split(".jsonl")[0] + ".jsonl")
        groups.setdefault(current, []).append((generation, path))
    return {
        current: [p for _, p in sorted(files, key=lambda item: -item[0])]
        for current, files in sorted(groups.items())
    }


def _read_records(paths: list[Path], since: datetime | None, end: int | None) -> Iterator[LogLine]:
    """Records of ``paths`` in order; the last path only up to byte ``end`` (where following
    takes over, so no line is both in the history and followed)."""
    for n, path in enumerate(paths):
        limit = end if n == len(paths) - 1 else None
        try:
            with path.open("rb") as f:
                data = f.read() if limit is None else f.read(limit)
                for raw in data.splitlines():
                    record = parse_line(raw)
                    if record is not None and (since is None or record.time >= since):
                        yield record
        except FileNotFoundError:
            continue  # rotated away while we were listing


def tail_lines(log_file: Path, count: int, *, since: datetime | None = None) -> tuple[str, ...]:
    """The last ``count`` lines of a replica (from its current and previous file), as
    ``[stream] line``; with ``since``, only lines stamped at or after it (one run's lines)."""
    lines: list[str] = []
    for path in (log_file.with_name(log_file.name + ".1"), log_file):
        lines.extend(
            f"[{r.stream}] {r.line}"
            for r in _last_records(path, count)
            if since is None or r.time >= since
        )
    return tuple(lines[-count:]) if count > 0 else ()


def _last_records(path: Path, count: int) -> list[LogLine]:
    # Read only the end of the file: it may be megabytes, we want a few lines.
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - max(4096, count * 1024)))
            chunk = f.read()
    except FileNotFoundError:
        return []
    records = [parse_line(raw) for raw in chunk.splitlines()[-count:]]
    return [r for r in records if r is not None]


async def read_logs(
    log_dir: Path,
    service: str,
    revision: str | None,
    *,
    since: datetime | None,
    follow: bool,
    clock: Clock,
    poll: float = 0.25,
) -> AsyncIterator[LogLine]:
    """Every stored line of ``service`` (one ``revision`` or all), merged in time order; with
    ``follow``, then lines as they are written, until the consumer stops iterating."""
    files = replica_files(log_dir, service, revision)
    # Remember where each current file ends now, so following starts exactly after history.
    followers = {current: _Follower.at_end(current) for current in files}
    streams = [
        _read_records(paths, since, followers[current].offset) for current, paths in files.items()
    ]
    for n, record in enumerate(heapq.merge(*streams, key=lambda r: r.time), start=1):
        yield record
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
    if not follow:
        for follower in followers.values():
            follower.close()
        return
    try:
        while True:
            for current in replica_files(log_dir, service, revision):
                if current not in followers:
                    followers[current] = _Follower(current)
            batch: list[LogLine] = []
            for follower in followers.values():
                batch.extend(follower.read_new())
            batch.sort(key=lambda r: r.time)
            for record in batch:
                if since is None or record.time >= since:
                    yield record
            await clock.asleep(poll)
    finally:
        for follower in followers.values():
            follower.close()


@dataclass
class _Follower:
    """Follows one replica's current log file across rotations."""

    path: Path
    file: BinaryIO | None = None
    inode: int | None = None
    pending: bytes = b""
    _skip_to_end: bool = field(default=False, repr=False)

    @property
    def offset(self) -> int | None:
        """Where following continues in the current file (None: not open)."""
        return self.file.tell() if self.file is not None else None

    @classmethod
    def at_end(cls, path: Path) -> _Follower:
        follower = cls(path, _skip_to_end=True)
        follower._open()
        return follower

    def _open(self) -> None:
        try:
            self.file = self.path.open("rb")
        except FileNotFoundError:
            self.file, self.inode = None, None
            return
        self.inode = self.path.stat().st_ino
        if self._skip_to_end:
            self.file.seek(0, 2)
            self._skip_to_end = False

    def read_new(self) -> list[LogLine]:
        if self.file is None:
            self._open()
            if self.file is None:
                return []
        records = self._drain()
        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            inode = None
        if inode != self.inode:
            # Rotated: what was left in the old file was read above; continue in the new one.
            self.close()
            self._open()
            records += self._drain()
        return records

    def _drain(self) -> list[LogLine]:
        assert self.file is not None
        data = self.pending + self.file.read()
        *complete, self.pending = data.split(b"\n")
        return [r for r in map(parse_line, complete) if r is not None]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
