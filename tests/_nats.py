"""A throwaway ``nats-server -js`` (Debian's ``nats-server``) on 127.0.0.1, ephemeral ports.

Used by ``tests/events`` (session fixture ``nats_server``) and ``bench/events``. When the
binary is missing the tests that need it FAIL with a hint (``make test`` installs it via
scripts/install-test-services.sh); they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from tests._servers import ServerProcess, free_port, wait_until_answering

HOST = "127.0.0.1"


class NatsUnavailable(RuntimeError):
    """nats-server could not be found or started; the message says why."""


def nats_binary() -> str:
    for candidate in (shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise NatsUnavailable(
        "nats-server is not installed: run `sudo apt-get install -y nats-server` "
        "(or `make test`, which installs it as root)"
    )


class NatsServer(ServerProcess):
    """One JetStream-enabled server in a temporary directory; ``url`` is its client URL."""

    unavailable = NatsUnavailable
    what = "nats-server"

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="roost-nats-")), "nats.log")
        self.port = 0
        self.monitor_port = 0

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def start(self) -> None:
        self._binary = nats_binary()
        super().start()

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        self.port, self.monitor_port = free_port(HOST), free_port(HOST)
        return subprocess.Popen(
            [
                self._binary,
                "-js",
                "-a", HOST,
                "-p", str(self.port),
                "-m", str(self.monitor_port),
                "-sd", str(self.base_dir / f"store-{self.port}"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def _wait_until_ready(self, timeout: float = 20) -> None:
        assert self._process is not None
        wait_until_answering(
            self._process,
            f"http://{HOST}:{self.monitor_port}/healthz?js-enabled-only=true",
            ready=lambda status, _body: status == 200,
            log_file=self.log_file,
            error=NatsUnavailable,
            what="nats-server",
            timeout=timeout,
        )


def start_nats() -> NatsServer:
    """Start a fresh server; the caller must ``stop()`` it."""
    server = NatsServer()
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
