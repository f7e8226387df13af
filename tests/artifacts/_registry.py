"""A throwaway OCI registry (Debian's ``docker-registry``, distribution 2.8) on 127.0.0.1.

Used by tests/artifacts, tests/build and bench/build. Each server gets its own temporary
config (filesystem storage in a temporary directory, ``http.addr`` on a free port) and is
stopped by whoever started it. When the binary is missing the tests that need it FAIL with a
hint (``scripts/install-test-services.sh`` installs it as root); they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from tests._servers import ServerProcess, free_port, wait_until_answering

HOST = "127.0.0.1"
BINARY = "/usr/bin/docker-registry"


class RegistryUnavailable(RuntimeError):
    """docker-registry could not be found or started; the message says why."""


def registry_binary() -> str:
    found = shutil.which("docker-registry") or (BINARY if Path(BINARY).is_file() else None)
    if found is None:
        raise RegistryUnavailable(
            "docker-registry is not installed: run `sudo apt-get install -y docker-registry` "
            "(or scripts/install-test-services.sh as root)"
        )
    return found


class RegistryServer(ServerProcess):
    """One registry in a temporary directory; ``host`` is ``127.0.0.1:<port>``."""

    unavailable = RegistryUnavailable
    what = "docker-registry"

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="roost-registry-")), "registry.log")
        self.storage = self.base_dir / "storage"
        self.read_only = read_only
        self.port = 0

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _config(self) -> str:
        read_only = "true" if self.read_only else "false"
        return (
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.storage}\n"
            "  delete:\n    enabled: true\n"
            f"  maintenance:\n    uploadpurging:\n      enabled: false\n"
            f"    readonly:\n      enabled: {read_only}\n"
            f"http:\n  addr: {self.host}\n"
        )

    def start(self) -> None:
        self._binary = registry_binary()
        super().start()

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        self.port = free_port(HOST)
        config = self.base_dir / "config.yml"
        config.write_text(self._config())
        return subprocess.Popen(
            [self._binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )

    def _wait_until_ready(self, timeout: float = 20) -> None:
        assert self._process is not None
        wait_until_answering(
            self._process,
            f"{self.url}/v2/",
            ready=lambda status, _body: status == 200,
            log_file=self.log_file,
            error=RegistryUnavailable,
            what="docker-registry",
            timeout=timeout,
        )

    def blob_file(self, digest: str) -> Path:
        """Where the registry keeps blob ``digest`` (to corrupt it on purpose)."""
        hex_digest = digest.split(":", 1)[1]
        return (
            self.storage / "docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"
        )


def start_registry(*, read_only: bool = False) -> RegistryServer:
    """Start a fresh registry; the caller must ``stop()`` it."""
    server = RegistryServer(read_only=read_only)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
