"""The replica shim: the small process that sits between the runtime and one replica run.

Why a separate process (the role conmon plays for podman and containerd-shim for containerd):
the data plane must outlive whoever hosts the runtime. If the agent held the replica's stdout
and stderr pipes itself, its death would leave the replica writing into pipes nobody reads —
EPIPE for Python programs, death by SIGPIPE for Go programs, a full pipe and a hung process for
others. The shim holds the pipes instead, so it:

* starts the replica (its own process group, so the runtime can signal the replica and its
  children as a group without hitting the shim),
* reads stdout and stderr without ever blocking the replica and writes each line as JSON Lines
  with size-based rotation,
* waits for the replica and records its exit status in a file, which the runtime reads even
  when it is a new agent that adopted the replica and so cannot ``wait()`` for it.

The runtime starts it as ``python -I -S _shim.py - RUN_DIR`` in a new session, so it imports nothing
but the standard library and starts in tens of milliseconds. Its config (the replica's command
and environment, secrets included) arrives on stdin, never in a file. Files it writes, in the
replica's run directory: ``child.json`` (the replica's pid, once started) and ``exit.json``
(how it ended, or why it could not start); both are written atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

# A line longer than this is cut into pieces: a program printing megabytes without a newline
# must not make the shim hold it all in memory.
MAX_LINE_BYTES = 64 * 1024
# After the replica exits, its children may still hold the pipes open; read what is there for
# this long, then finish so the exit status is recorded promptly.
DRAIN_SECONDS = 1.0


def _now() -> str:
    # Log timestamps are I/O, not logic: the shim is a standalone stdlib process without a Clock.
    return datetime.now(UTC).isoformat()


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` so that a reader sees either nothing or the whole file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class RotatingJsonlWriter:
    """Appends log records to ``path``, rotating to ``path.1`` … ``path.N`` by size.

    Several runs of the same replica (restarts) append to the same file, one after the other.
    """

    def __init__(self, path: Path, *, max_bytes: int, backups: int, fields: dict[str, Any]):
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.fields = fields
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - held for the writer's life
        self._size = self._file.tell()

    def write(self, stream: str, line: str) -> None:
        """Append one record ``{"time", **fields, "stream", "line"}``."""
        record = {"time": _now(), **self.fields, "stream": stream, "line": line}
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        if self._size > 0 and self._size + len(data) > self.max_bytes:
            self._rotate()
        # One write() per record on an O_APPEND file: readers never see half a line from us.
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def _rotate(self) -> None:
        self._file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        """Close the current file."""
        self._file.close()


class LineSplitter:
    """Turns chunks read from a pipe into complete lines (bytes decoded leniently)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """Lines completed by ``chunk``; an over-long unfinished line is cut into pieces."""
        data = self._pending + chunk
        *complete, self._pending = data.split(b"\n")
        lines = [_decode(raw) for raw in complete]
        while len(self._pending) >= MAX_LINE_BYTES:
            lines.append(_decode(self._pending[:MAX_LINE_BYTES]))
            self._pending = self._pending[MAX_LINE_BYTES:]
        return lines

    def flush(self) -> list[str]:
        """The unfinished last line, if any."""
        rest, self._pending = self._pending, b""
        return [_decode(rest)] if rest else []


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")


def _spawn_error(exc: OSError, command: list[str], cwd: str) -> str:
    if isinstance(exc, FileNotFoundError):
        if not Path(cwd).is_dir():
            return f"workdir does not exist: {cwd}"
        return f"command not found: {command[0]}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {command[0]}"
    return f"cannot start {command[0]}: {exc.strerror or exc}"


def run(source: str) -> int:
    """Start the replica described by the config in ``source`` (``-``: stdin, else a file),
    pump its output, record its exit."""
    if source == "-":
        with open(0, "rb", closefd=True) as stdin:
            config = json.loads(stdin.read())
    else:
        config = json.loads(Path(source).read_text())
    child_file = Path(config["child_file"])
    exit_file = Path(config["exit_file"])
    # A handler (not SIG_IGN, which exec would pass on to the replica) so a stray SIGINT/SIGHUP
    # does not kill the shim and cut the replica's output off.
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: None)

    try:
        proc = subprocess.Popen(
            config["command"],
            cwd=config["cwd"],
            env=config["env"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,
            umask=int(config.get("umask", -1)),
        )
    except OSError as exc:
        message = _spawn_error(exc, config["command"], config["cwd"])
        write_json_atomically(exit_file, {"error": message, "finished_at": _now()})
        return 0
    write_json_atomically(child_file, {"pid": proc.pid, "started_at": _now()})

    writer = RotatingJsonlWriter(
        Path(config["log_path"]),
        max_bytes=int(config["log_max_bytes"]),
        backups=int(config["log_backups"]),
        fields=config["log_fields"],
    )
    try:
        returncode = _pump(proc, writer)
    finally:
        writer.close()
    record: dict[str, Any] = {"finished_at": _now()}
    if returncode < 0:
        record["signal"] = signal.Signals(-returncode).name
    else:
        record["exit_code"] = returncode
    write_json_atomically(exit_file, record)
    return 0


def _pump(proc: subprocess.Popen[bytes], writer: RotatingJsonlWriter) -> int:
    assert proc.stdout is not None
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    splitters: dict[int, tuple[str, LineSplitter]] = {}
    for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        os.set_blocking(pipe.fileno(), False)
        selector.register(pipe.fileno(), selectors.EVENT_READ)
        splitters[pipe.fileno()] = (name, LineSplitter())
    deadline: float | None = None
    try:
        while selector.get_map():
            if deadline is None and proc.poll() is not None:
                deadline = time.monotonic() + DRAIN_SECONDS
            if deadline is not None and time.monotonic() >= deadline:
                break
            for key, _ in selector.select(timeout=0.2):
                fd = key.fd
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                name, splitter = splitters[fd]
                if not chunk:
                    selector.unregister(fd)
                    for line in splitter.flush():
                        writer.write(name, line)
                    continue
                for line in splitter.feed(chunk):
                    writer.write(name, line)
        for name, splitter in splitters.values():
            for line in splitter.flush():
                writer.write(name, line)
    finally:
        selector.close()
        proc.stdout.close()
        proc.stderr.close()
    return proc.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(run(sys.argv[1]))
