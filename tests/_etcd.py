"""A throwaway single-member etcd (Debian's ``etcd-server``, 3.4) on 127.0.0.1.

Used by ``tests/leases`` and ``tests/control`` (session fixtures ``etcd_server``) and by
``bench/leases``. When the ``etcd`` binary is missing the tests that need it FAIL with a hint
(``make test`` installs it via scripts/install-test-services.sh); they never skip.

The member keeps its data in /dev/shm when it can (no fsync stalls on a busy disk) and runs
with a 10 ms heartbeat and 100 ms election timeout: on one loopback member that costs nothing,
and it lowers etcd's minimum lease TTL (1.5 x election timeout, rounded up to whole seconds)
to 1 s, so TTL expiry can be tested without long sleeps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from tests._servers import ServerProcess, free_port, wait_until_answering

HOST = "127.0.0.1"


class EtcdUnavailable(RuntimeError):
    """etcd could not be found or started; the message says why."""


def etcd_binary() -> str:
    found = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").is_file() else None)
    if found is None:
        raise EtcdUnavailable(
            "etcd is not installed: run `sudo apt-get install -y etcd-server` "
            "(or `make test`, which installs it as root)"
        )
    return found


class EtcdServer(ServerProcess):
    """One etcd member in a temporary directory; ``url`` is its client URL."""

    unavailable = EtcdUnavailable
    what = "etcd"

    def __init__(self) -> None:
        # etcd fsyncs its WAL on every write; on a busy shared disk that alone can stall a
        # write for a second. The data is throwaway, so keep it in memory when we can.
        shm = Path("/dev/shm")
        in_memory = shm.is_dir() and os.access(shm, os.W_OK)
        base = Path(tempfile.mkdtemp(prefix="roost-etcd-", dir=shm if in_memory else None))
        super().__init__(base, "etcd.log")
        self.client_port = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    def start(self) -> None:
        self._binary = etcd_binary()
        super().start()

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        self.client_port, peer_port = free_port(HOST), free_port(HOST)
        peer = f"http://{HOST}:{peer_port}"
        data_dir = self.base_dir / f"data-{self.client_port}"
        return subprocess.Popen(
            [
                self._binary,
                "--name", "default",
                "--data-dir", str(data_dir),
                "--listen-client-urls", self.url,
                "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"default={peer}",
                "--heartbeat-interval", "10",
                "--election-timeout", "100",
                "--log-level", "warn",
                "--logger", "zap",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def _wait_until_ready(self, timeout: float = 20) -> None:
        assert self._process is not None
        wait_until_answering(
            self._process,
            f"{self.url}/health",
            ready=lambda _status, body: b'"health":"true"' in body.replace(b" ", b""),
            log_file=self.log_file,
            error=EtcdUnavailable,
            what="etcd",
            timeout=timeout,
        )


def start_etcd() -> EtcdServer:
    """Start a fresh member; the caller must ``stop()`` it."""
    server = EtcdServer()
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
