"""Bad input found by fuzzing the API and by hand (issue 12): each is a 4xx with one clear
``{"error", "hint"}`` and stores nothing. In-process ASGI calls; the same inputs against a real
``roost up`` are in tests/cli/test_bad_input.py."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._auth import admin_headers
from tests._roost import REPO

from roost.api import create_app
from roost.control.workspace import Workspace, open_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    shutil.copytree(REPO / "examples" / "canary", tmp_path / "canary")
    with open_workspace(tmp_path / "canary") as ws:
        yield ws


def _send(ws: Workspace, method: str, path: str, content: bytes | None = None) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=admin_headers(ws.store)
        ) as client:
            headers = {"content-type": "application/json"} if content is not None else {}
            return await client.request(method, path, content=content, headers=headers)

    return asyncio.run(call())


def _body(data: Any) -> bytes:
    return json.dumps(data).encode()


def _assert_refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data = response.json()
    assert isinstance(data, dict)
    for word in words:
        assert word in data["error"], data
    assert data.get("hint"), data
    return data


def _assert_nothing_stored(ws: Workspace) -> None:
    assert ws.store.releases.list() == []
    assert ws.store.rollouts.list() == []


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        (
            "/api/v1/rollouts",
            {"service": "web", "env": {"BAD NAME": "1"}},
            ["env.BAD NAME", "not a valid environment variable name"],
        ),
        (
            "/api/v1/rollouts",
            {"service": "web", "env": {"1X": "1"}},
            ["'1X' is not a valid environment variable name"],
        ),
        (
            "/api/v1/services/web/revisions",
            {"env": {"BAD NAME": "1"}},
            ["not a valid environment variable name"],
        ),
        (
            "/api/v1/services/web/revisions",
            {"env": {"OK": "nul\u0000inside"}},
            ["env.OK", "control character"],
        ),
        ("/api/v1/rollouts", {"service": "web", "actor": "a"}, ["actor is not accepted"]),
        ("/api/v1/rollouts", {"service": "Web Server"}, ["not a valid service"]),
        ("/api/v1/apply", {"actor": "ops"}, ["actor is not accepted", "credential"]),
        (
            "/api/v1/rollouts",
            {"service": "web", "environment": "dev\u0001"},
            ["environment", "not a valid environment name"],
        ),
        (
            "/api/v1/rollouts",
            {"service": "web", "release": "web-r1\u0001"},
            ["release", "not a valid release id"],
        ),
        (
            "/api/v1/services/web/revisions",
            {"release": "web-r1/../x"},
            ["not a valid release id"],
        ),
        (
            "/api/v1/rollouts/01ABC/abort",
            {"reason": "line\u0007bell"},
            ["reason", "control character"],
        ),
    ],
)
def test_bad_names_and_text_are_422_before_anything_is_stored(
    workspace: Workspace, path: str, body: dict[str, Any], words: list[str]
) -> None:
    _assert_refused(_send(workspace, "POST", path, _body(body)), 422, *words)
    _assert_nothing_stored(workspace)


def test_a_lone_surrogate_is_422_not_500(workspace: Workspace) -> None:
    raw = b'{"service": "web", "release": "\\ud800"}'
    _assert_refused(_send(workspace, "POST", "/api/v1/rollouts", raw), 422, "release")
    raw = b'{"service": "web\\ud800"}'
    _assert_refused(_send(workspace, "POST", "/api/v1/rollouts", raw), 422, "service")
    _assert_nothing_stored(workspace)


def test_an_infinite_weight_is_422_not_500(workspace: Workspace) -> None:
    raw = b'{"weights": {"web-r1": 1e400}}'
    data = _assert_refused(_send(workspace, "PUT", "/api/v1/services/web/weights", raw), 422)
    assert data["error"].startswith("weights.web-r1: "), data


def test_a_weight_given_twice_is_refused(workspace: Workspace) -> None:
    raw = b'{"weights": {"web-r1": 50, "web-r1": 50}}'
    _assert_refused(
        _send(workspace, "PUT", "/api/v1/services/web/weights", raw), 400, "'web-r1' twice"
    )


def test_a_control_character_in_a_revision_path_is_422(workspace: Workspace) -> None:
    response = _send(workspace, "DELETE", "/api/v1/services/web/revisions/web-r1%01x")
    _assert_refused(response, 422, "revision")
    response = _send(workspace, "GET", "/api/v1/rollouts/01AB%00C")
    _assert_refused(response, 422, "rollout_id")


def test_a_body_over_the_limit_is_413_and_stores_nothing(workspace: Workspace) -> None:
    # The 22 MB body had 200k variables; 20k (about 2 MB) is over the 1 MiB default.
    env = {f"VAR_{i}": "x" * 80 for i in range(20_000)}
    body = _body({"service": "web", "env": env})
    assert len(body) > 1024 * 1024
    _assert_refused(_send(workspace, "POST", "/api/v1/rollouts", body), 413, "larger than 1048576")
    _assert_nothing_stored(workspace)


def test_too_many_env_vars_in_a_small_body_are_refused(workspace: Workspace) -> None:
    env = {f"V{i}": "" for i in range(501)}
    body = _body({"service": "web", "env": env})
    assert len(body) < 1024 * 1024
    _assert_refused(_send(workspace, "POST", "/api/v1/rollouts", body), 422, "env")
    _assert_nothing_stored(workspace)


def test_a_good_request_still_passes_the_checks(workspace: Workspace) -> None:
    # Valid names and text reach the control plane, which answers that no agent runs.
    body = {"service": "web", "env": {"GOOD_NAME": "a\nb", "_X1": ""}}
    _assert_refused(_send(workspace, "POST", "/api/v1/rollouts", _body(body)), 503, "no agent")
