"""Issue 12's bad input against a real `roost up` (agent, router, replicas): each is refused with
one clear message, stores no release, and a good deploy afterwards still works — before the fix
an invalid environment variable name left an immutable release behind that every later deploy
of it answered 500 on."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._auth import owner_headers
from tests._roost import REPO, kill_leftovers, roost

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", root)
    up = roost("up", "--project", str(root), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield root
    finally:
        roost("down", "--project", str(root), timeout=120)
        kill_leftovers(root)


def _one_error_line(result: object, code: int) -> str:
    assert getattr(result, "returncode", None) == code, result
    stderr = str(getattr(result, "stderr", ""))
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("roost: error: "), stderr
    return lines[0]


def test_bad_input_is_refused_and_stores_nothing(project: Path) -> None:
    api = json.loads((project / ".roost" / "api.json").read_text())["url"]
    with httpx.Client(base_url=api, headers=owner_headers(project), timeout=60) as client:
        releases = [r["id"] for r in client.get("/api/v1/releases").json()]
        assert releases == ["hello-r1"]

        for path, content in [
            ("/api/v1/rollouts", b'{"service": "hello", "env": {"BAD NAME": "1"}}'),
            ("/api/v1/rollouts", b'{"service": "hello", "env": {"1X": "1"}}'),
            ("/api/v1/services/hello/revisions", b'{"env": {"BAD NAME": "1"}}'),
            ("/api/v1/rollouts", b'{"service": "hello", "actor": "a"}'),
            ("/api/v1/rollouts", b'{"service": "hello", "release": "\\ud800"}'),
            ("/api/v1/services/hello/revisions", b'{"release": "hello-r1\\u0001"}'),
        ]:
            response = client.post(
                path, content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422, (content, response.text)
            assert response.json()["error"]
        weights = client.put(
            "/api/v1/services/hello/weights",
            content=b'{"weights": {"hello-r1": 1e400}}',
            headers={"content-type": "application/json"},
        )
        assert weights.status_code == 422, weights.text
        stop = client.delete("/api/v1/services/hello/revisions/hello-r1%01")
        assert stop.status_code == 422, stop.text
        huge = {"service": "hello", "env": {f"V{i}": "x" * 100 for i in range(20_000)}}
        big = client.post("/api/v1/rollouts", json=huge)
        assert big.status_code == 413, big.text
        assert [r["id"] for r in client.get("/api/v1/releases").json()] == releases

    # The CLI checks the same names before it calls the API.
    bad_env = roost("start", "hello", "--project", str(project), "--set-env", "BAD NAME=1")
    assert "'BAD NAME' is not a valid environment variable name" in _one_error_line(bad_env, 2)
    twice = roost("weights", "hello", "hello-r1=50", "hello-r1=50", "--project", str(project))
    assert "hello-r1 is given twice" in _one_error_line(twice, 2)
    bad_revision = roost("stop", "hello", "hello-r1\x01", "--project", str(project))
    assert "not a valid revision name" in _one_error_line(bad_revision, 2)

    # Nothing broken was left behind: a good revision starts and the release list grew by one.
    good = roost("start", "hello", "--project", str(project), "--set-env", "GOOD_NAME=1")
    assert good.returncode == 0, good.stderr
    assert "started hello-r2" in good.stdout
    with httpx.Client(base_url=api, headers=owner_headers(project), timeout=60) as client:
        assert [r["id"] for r in client.get("/api/v1/releases").json()] == ["hello-r2", "hello-r1"]
