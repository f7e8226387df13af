"""What the test servers (etcd, docker-registry, ...) share: waiting until a freshly started
process answers, and stopping it for sure."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the server may still lose a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    ready: Callable[[int, bytes], bool],
    log_file: Path,
    error: type[Exception],
    what: str,
    timeout: float = 20,
) -> None:
    """Poll ``url`` until ``ready(status, body)``; raise ``error`` with the log tail if the
    process exits first, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log = log_file.read_text(errors="replace")[-2000:]
            raise error(f"{what} exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if ready(response.status, response.read()):
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise error(f"{what} at {url} did not answer within {timeout}s")
        time.sleep(0.05)


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s; always reaped."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServerProcess:
    """A server binary started by the tests in its own temporary directory, with its log there.

    Subclasses say how to spawn it (:meth:`_spawn`, which also picks its ports) and how to
    tell it is ready (:meth:`_wait_until_ready`, raising :attr:`unavailable`). :meth:`start`
    retries with new ports when another process took one between probe and bind.
    """

    unavailable: type[Exception] = RuntimeError
    what = "server"

    def __init__(self, base_dir: Path, log_name: str) -> None:
        self.base_dir = base_dir
        self.log_file = base_dir / log_name
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def _wait_until_ready(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        failures = []
        for _ in range(3):  # another process may take a port between probe and bind
            with self.log_file.open("ab") as log:
                self._process = self._spawn(log)
            try:
                self._wait_until_ready()
                return
            except self.unavailable as exc:
                self._terminate()
                failures.append(str(exc))
                if "address already in use" not in self.log_file.read_text(errors="replace"):
                    break
        raise self.unavailable(f"{self.what} did not start:\n" + "\n---\n".join(failures))

    def _terminate(self) -> None:
        terminate(self._process)
        self._process = None

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        try:
            self._terminate()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __repr__(self) -> str:
        state = "running" if self._process is not None else "stopped"
        return f"{type(self).__name__}({self.url}, {state})"
