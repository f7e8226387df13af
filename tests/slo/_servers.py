"""Real Prometheus and Alertmanager servers on 127.0.0.1 for tests (fail, never skip)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def binary(*names: str, package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"{names[0]} is not installed (make test installs Debian's {package} via "
        "scripts/install-test-services.sh)",
        pytrace=False,
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode} before it was ready")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"{what} was not ready at {url} within 20 s")


@contextlib.contextmanager
def prometheus(tmp: Path, *, targets: list[str], interval: str = "1s") -> Iterator[str]:
    """A Prometheus scraping ``targets`` every ``interval``; yields its base URL."""
    exe = binary("prometheus", package="prometheus")
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        "scrape_configs:\n  - job_name: roost\n"
        f"    static_configs:\n      - targets: {targets!r}\n"
    )
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/-/ready", proc, "prometheus")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def alertmanager(tmp: Path, *, webhook: str) -> Iterator[str]:
    """An Alertmanager routing everything to ``webhook`` quickly; yields its base URL."""
    exe = binary("prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager")
    port = free_port()
    config = tmp / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: hook\n  group_by: [alertname, service]\n"
        "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: '{webhook}'\n"
        "        send_resolved: true\n"
    )
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/-/ready", proc, "alertmanager")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
