"""Registries for the artifact tests: real ``docker-registry`` servers on 127.0.0.1, one per
test (they start in well under a second), stopped by the fixture that started them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.artifacts._registry import RegistryServer, RegistryUnavailable, start_registry

from roost.artifacts import OciLayout


def _start(read_only: bool = False) -> RegistryServer:
    try:
        return start_registry(read_only=read_only)
    except RegistryUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def registry() -> Iterator[RegistryServer]:
    """A writable registry (fails, never skips, when docker-registry is missing)."""
    server = _start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def second_registry() -> Iterator[RegistryServer]:
    """Another writable registry: the "regional" one replication copies to."""
    server = _start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def read_only_registry() -> Iterator[RegistryServer]:
    """A registry in read-only maintenance mode: it refuses every push."""
    server = _start(read_only=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def layout(tmp_path: Path) -> OciLayout:
    return OciLayout(tmp_path / "oci").ensure()


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    """A small service folder: code, a lock file, a vendored wheel, and noise to exclude."""
    root = tmp_path / "service"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hello from web')\n")
    (root / "app" / "__pycache__").mkdir()
    (root / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (root / "run.sh").write_text("#!/bin/sh\nexec python3 app/main.py\n")
    (root / "run.sh").chmod(0o755)
    (root / "requirements.lock").write_text("greet==1.0\n")
    (root / "wheels").mkdir()
    (root / "wheels" / "greet-1.0-py3-none-any.whl").write_bytes(b"not really a wheel")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root
