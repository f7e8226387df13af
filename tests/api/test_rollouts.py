"""The rollout API's refusals: one ``{"error", "hint"}`` with a fitting status, and nothing
written — checked before a release is cut or a record created."""

from __future__ import annotations

import asyncio
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


def _call(ws: Workspace, method: str, path: str, body: Any) -> httpx.Response:
    # In-process ASGI calls (starlette's TestClient warns about its httpx support).
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=admin_headers(ws.store)
        ) as client:
            return await client.request(method, path, json=body)

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("POST", "/api/v1/rollouts", {"service": "nope"}, 404, "no service 'nope'"),
        (
            "POST",
            "/api/v1/rollouts",
            {"service": "web", "release": "web-r9"},
            404,
            "no release 'web-r9'",
        ),
        (
            "POST",
            "/api/v1/rollouts",
            {"service": "web", "environment": "prod"},
            404,
            "no environment 'prod'",
        ),
        ("POST", "/api/v1/rollouts", {"service": "web"}, 503, "no agent"),
        ("POST", "/api/v1/rollouts/R1/approve", {}, 404, "no rollout 'R1'"),
        ("POST", "/api/v1/rollouts/R1/abort", {}, 404, "no rollout 'R1'"),
        ("POST", "/api/v1/services/web/rollback", {}, 503, "no agent"),
        ("GET", "/api/v1/services/nope/history", None, 404, "no service 'nope'"),
    ],
)
def test_refusals_are_one_error_and_leave_nothing_behind(
    workspace: Workspace,
    method: str,
    path: str,
    body: dict[str, object] | None,
    status: int,
    error: str,
) -> None:
    response = _call(workspace, method, path, body)
    assert response.status_code == status, response.text
    data = response.json()
    assert error in data["error"]
    assert data.get("hint")
    assert workspace.store.releases.list() == []
    assert workspace.store.rollouts.list() == []
