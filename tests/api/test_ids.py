"""Every endpoint that takes a rollout or release id accepts a unique leading part of it (as
listings shorten it, "…" included); an ambiguous one is a 400 naming the candidates."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from tests._auth import admin_headers
from tests._roost import REPO

from roost.api import create_app
from roost.control.workspace import Workspace, open_workspace
from roost.store import RolloutRecord


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    shutil.copytree(REPO / "examples" / "canary", tmp_path / "canary")
    with open_workspace(tmp_path / "canary") as ws:
        yield ws


def _get(ws: Workspace, *paths: str) -> list[httpx.Response]:
    async def call() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=admin_headers(ws.store)
        ) as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(call())


def _two_rollouts(ws: Workspace) -> tuple[RolloutRecord, RolloutRecord]:
    store = ws.store
    config = ws.project.resolved_service("web").model_dump(mode="json", by_alias=True)
    made = []
    for environment in ("dev", "staging"):
        release = store.releases.create(
            "web", artifact="a", config=config, secrets={}, schema_requires="", created_by="t"
        )
        made.append(
            store.rollouts.create(
                "web", environment, to_release=release.id, strategy="canary", state="promoted"
            )
        )
    return made[0], made[1]


def test_rollout_and_release_endpoints_take_a_unique_prefix(workspace: Workspace) -> None:
    first, second = _two_rollouts(workspace)
    common = next(i for i in range(26) if first.id[i] != second.id[i])
    shortened = quote(first.id[: common + 1].lower() + "…")
    by_id, status, found, release = _get(
        workspace,
        f"/api/v1/rollouts/{shortened}",
        f"/api/v1/rollouts/{shortened}/status",
        f"/api/v1/rollouts/find/{shortened}",
        "/api/v1/releases/web-r",
    )
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["rollout"]["id"] == first.id
    assert status.status_code == 200, status.text
    assert status.json()["id"] == first.id
    assert found.status_code == 200, found.text
    assert found.json()["id"] == first.id
    # "web-r" starts web-r1 and web-r2: which one is not guessed.
    assert release.status_code == 400, release.text
    assert "web-r1, web-r2" in release.json()["error"]


def test_an_ambiguous_rollout_prefix_names_the_candidates(workspace: Workspace) -> None:
    first, second = _two_rollouts(workspace)
    common = next(i for i in range(26) if first.id[i] != second.id[i])
    (response,) = _get(workspace, f"/api/v1/rollouts/{first.id[:common]}/status")
    assert response.status_code == 400, response.text
    data = response.json()
    assert "ambiguous" in data["error"]
    assert first.id in data["error"]
    assert second.id in data["error"]
    assert data["hint"] == "give more characters of the id"
