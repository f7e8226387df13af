"""Blue-green on the embedded runtime: the new revision answers on its own preview address while
live traffic stays on the old one; promotion switches everything at once and closes the preview."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._roost import REPO, roost

pytestmark = pytest.mark.timeout(240)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    root = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", root)
    preview = _free_port()
    text = (root / "roost.yaml").read_text()
    text = text.replace(
        "    replicas: 2\n",
        "    replicas: 1\n"
        "    rollout:\n"
        "      strategy: blue_green\n"
        f"      preview_port: {preview}\n"
        "      scale_down_delay: 1s\n",
    )
    (root / "roost.yaml").write_text(text)
    up = roost("up", "-p", str(root), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield root, preview
    finally:
        roost("down", "-p", str(root), timeout=120)


def _ps(root: Path) -> dict[str, object]:
    api = json.loads((root / ".roost" / "api.json").read_text())["url"]
    data = httpx.get(f"{api}/api/v1/ps", timeout=10).json()
    assert isinstance(data, dict)
    return data


def _until(check: object, what: str, timeout: float = 90) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_preview_address_then_switch_all_at_once(project: tuple[Path, int]) -> None:
    root, preview_port = project
    live = str(_ps(root)["services"]["hello"]["url"])  # type: ignore[index]
    deploy = roost(
        "deploy",
        "hello",
        "--set-env",
        "HELLO_GREETING=v2",
        "--detach",
        "-p",
        str(root),
        timeout=120,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    def preview_open() -> object:
        return _ps(root)["services"]["hello"].get("preview")  # type: ignore[union-attr,index]

    preview = _until(preview_open, "the preview listener")
    assert preview == {"revision": "hello-r2", "url": f"http://127.0.0.1:{preview_port}"}
    with httpx.Client(timeout=10) as client:
        seen = _until(
            lambda: client.get(f"http://127.0.0.1:{preview_port}/").json(), "a preview answer"
        )
        assert seen == {"revision": "hello-r2", "greeting": "v2", "path": "/"}
        # Live traffic has not moved.
        assert {client.get(live + "/").json()["revision"] for _ in range(20)} == {"hello-r1"}

        promote = roost("rollout", "promote", "hello", "-p", str(root))
        assert promote.returncode == 0, promote.stdout + promote.stderr
        _until(
            lambda: {client.get(live + "/").json()["revision"] for _ in range(10)} == {"hello-r2"},
            "the switch to hello-r2",
        )
    _until(lambda: _ps(root)["services"]["hello"].get("preview") is None, "the preview to close")  # type: ignore[union-attr,index]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{preview_port}/", timeout=5)
