"""What the test servers (etcd, docker-registry, ...) share: waiting until a freshly started
process answers, and stopping it for sure."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path


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
