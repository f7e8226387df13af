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

from tests._servers import free_port, terminate, wait_until_answering

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


class RegistryServer:
    """One registry in a temporary directory; ``host`` is ``127.0.0.1:<port>``."""

    def __init__(self, *, read_only: bool = False) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="roost-registry-"))
        self.storage = self.base_dir / "storage"
        self.log_file = self.base_dir / "registry.log"
        self.read_only = read_only
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

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
        binary = registry_binary()
        failures = []
        for _ in range(3):  # another process may take the port between probe and bind
            self.port = free_port(HOST)
            config = self.base_dir / "config.yml"
            config.write_text(self._config())
            with self.log_file.open("ab") as log:
                self._process = subprocess.Popen(
                    [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
                )
            try:
                self._wait_until_ready()
                return
            except RegistryUnavailable as exc:
                self._terminate()
                failures.append(str(exc))
                if "address already in use" not in self.log_file.read_text(errors="replace"):
                    break
        raise RegistryUnavailable("docker-registry did not start:\n" + "\n---\n".join(failures))

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

    def _terminate(self) -> None:
        terminate(self._process)
        self._process = None

    def stop(self) -> None:
        """Stop the registry and delete its directory."""
        try:
            self._terminate()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __repr__(self) -> str:
        state = "running" if self._process is not None else "stopped"
        return f"RegistryServer({self.url}, {state})"


def start_registry(*, read_only: bool = False) -> RegistryServer:
    """Start a fresh registry; the caller must ``stop()`` it."""
    server = RegistryServer(read_only=read_only)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
