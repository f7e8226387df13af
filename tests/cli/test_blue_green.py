"""Blue-green on the embedded runtime: the new revision answers on its own preview address while
live traffic stays on the old one; promotion switches everything at once and closes the preview."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._auth import owner_headers
from tests._roost import REPO, kill_leftovers, roost

pytestmark = pytest.mark.timeout(480)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _running(tmp_path: Path, extra: str = "") -> Iterator[tuple[Path, int]]:
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
        "      scale_down_delay: 1s\n" + extra,
    )
    (root / "roost.yaml").write_text(text)
    up = roost("up", "-p", str(root), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield root, preview
    finally:
        roost("down", "-p", str(root), timeout=120)
        kill_leftovers(root)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    with _running(tmp_path) as running:
        yield running


# Auto-promotion gated by an analysis that needs 5 requests a second to say anything; a high
# inconclusive_limit so that the idle preview is not paused for a human before traffic comes.
AUTO_PROMOTE = """\
      auto_promote: true
    analysis:
      interval: 1s
      checks:
        - metric: error_ratio
          max: 0.05
      min_samples: 5
      inconclusive_limit: 1000
"""


def _api(root: Path, path: str) -> Any:
    api = json.loads((root / ".roost" / "api.json").read_text())["url"]
    response = httpx.get(f"{api}{path}", headers=owner_headers(root), timeout=10)
    response.raise_for_status()
    return response.json()


def _ps(root: Path) -> dict[str, object]:
    data = _api(root, "/api/v1/ps")
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


def test_preview_traffic_is_analysed_and_auto_promotes(tmp_path: Path) -> None:
    with _running(tmp_path, AUTO_PROMOTE) as (root, preview_port):
        deploy = roost(
            "deploy", "hello", "--set-env", "HELLO_GREETING=v2", "--detach", "-p", str(root),
            timeout=120,
        )  # fmt: skip
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr

        def timeline() -> list[dict[str, Any]]:
            found = _api(root, "/api/v1/rollouts/find/hello")
            status = _api(root, f"/api/v1/rollouts/{found['id']}/status")
            return list(status["timeline"])

        def analyses() -> list[dict[str, Any]]:
            return [e for e in timeline() if e["kind"] == "analysis"]

        # Without preview traffic the analysis has nothing to judge: no switch.
        _until(lambda: len(analyses()) >= 2, "two analyses of the idle preview")
        assert all(a["detail"]["outcome"] == "inconclusive" for a in analyses()), analyses()
        assert "switch_requested" not in [e["kind"] for e in timeline()]
        live = str(_ps(root)["services"]["hello"]["url"])  # type: ignore[index]

        # Requests on the preview port are counted for hello-r2, the analysis passes, and
        # auto-promotion switches all traffic.
        stop = threading.Event()
        answered: list[str] = []

        def preview_traffic() -> None:
            with httpx.Client(timeout=5) as client:
                while not stop.is_set():
                    with suppress(httpx.HTTPError):
                        answered.append(
                            client.get(f"http://127.0.0.1:{preview_port}/p").json()["revision"]
                        )
                    stop.wait(0.02)

        worker = threading.Thread(target=preview_traffic, daemon=True)
        worker.start()
        try:
            _until(
                lambda: "switch_requested" in [e["kind"] for e in timeline()],
                "auto-promotion after preview traffic",
                timeout=120,
            )
        finally:
            stop.set()
            worker.join(timeout=15)
        assert set(answered) == {"hello-r2"}
        passed = [a for a in analyses() if a["detail"]["outcome"] == "pass"]
        assert passed, analyses()
        switch = next(e for e in timeline() if e["kind"] == "switch_requested")
        assert switch["detail"]["by"] == "auto_promote"
        with httpx.Client(timeout=10) as client:
            _until(
                lambda: (
                    {client.get(live + "/").json()["revision"] for _ in range(10)} == {"hello-r2"}
                ),
                "the switch to hello-r2",
            )
