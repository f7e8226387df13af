"""No route can be added unprotected: every path and method of the OpenAPI document, except the
public allow-list, answers 401 without a credential and 403 with one too weak for it — a
viewer for a write, a token without any role for a read, and a token for another environment
where the route is about one environment."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests._auth import bearer, make_token
from tests._roost import REPO

from roost.api import create_app
from roost.api.auth.listing import PUBLIC_PATHS, markdown_table, route_permissions
from roost.control.workspace import Workspace, open_workspace

# Values that pass each path parameter's pattern: the checks must run before anything looks
# the value up.
PATH_VALUES = {
    "service": "web",
    "rollout_id": "01ABC",
    "revision": "web-r1",
    "release_id": "web-r1",
    "name": "nobody",
    "what": "web",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("perms") / "canary"
    shutil.copytree(REPO / "examples" / "canary", root)
    text = (root / "roost.yaml").read_text()
    (root / "roost.yaml").write_text(
        text.replace("environments:\n  dev: {}\n", "environments:\n  dev: {}\n  production: {}\n")
    )
    with open_workspace(root) as ws:
        assert list(ws.project.environments) == ["dev", "production"]
        yield ws


def _app_routes(ws: Workspace) -> list[tuple[str, str]]:
    schema = create_app(ws).openapi()
    routes = []
    for path, methods in schema["paths"].items():
        for method in methods:
            routes.append((method.upper(), path))
    return sorted(routes)


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "x"), path)


def _send_all(
    ws: Workspace, routes: list[tuple[str, str]], headers: dict[str, str]
) -> dict[tuple[str, str], httpx.Response]:
    async def call() -> dict[tuple[str, str], httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(ws))
        answers = {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=headers
        ) as client:
            for method, path in routes:
                body: Any = {} if method in ("POST", "PUT", "PATCH") else None
                answers[(method, path)] = await client.request(method, _fill(path), json=body)
        return answers

    return asyncio.run(call())


def _protected(ws: Workspace) -> list[tuple[str, str]]:
    return [r for r in _app_routes(ws) if r[1] not in PUBLIC_PATHS]


def test_the_document_names_a_permission_for_every_route_but_the_public_ones(
    workspace: Workspace,
) -> None:
    listed = route_permissions(create_app(workspace).openapi())
    assert len([r for r in listed if r.path.startswith("/api/v1/")]) >= 30
    public = {r.path for r in listed if r.permission is None}
    assert public <= PUBLIC_PATHS, public - PUBLIC_PATHS
    assert {r.path for r in listed if not r.path.startswith("/api/v1/")} <= PUBLIC_PATHS


def test_every_route_needs_a_credential(workspace: Workspace) -> None:
    answers = _send_all(workspace, _protected(workspace), {})
    for route, response in answers.items():
        assert response.status_code == 401, (route, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"] == "this API needs a credential"
    forged = _send_all(workspace, _protected(workspace), bearer("roost_" + "A" * 43))
    for route, response in forged.items():
        assert response.status_code == 401, (route, response.text)
        assert response.json()["error"] == "unknown token"


def test_the_public_paths_need_none(workspace: Workspace) -> None:
    public = [r for r in _app_routes(workspace) if r[1] in PUBLIC_PATHS]
    assert ("GET", "/healthz") in public
    for route, response in _send_all(workspace, public, {}).items():
        assert response.status_code == 200, (route, response.text)


def test_a_too_weak_credential_is_403_everywhere(workspace: Workspace) -> None:
    needs = {(r.method, r.path): r for r in route_permissions(create_app(workspace).openapi())}
    viewer = bearer(make_token(workspace.store, role="viewer"))
    roleless = bearer(make_token(workspace.store, role=None))
    elsewhere = {
        role: bearer(make_token(workspace.store, role=role, environment="staging"))
        for role in ("viewer", "deployer", "approver", "admin")
    }
    routes = _protected(workspace)
    writes = [r for r in routes if needs[r].permission != "read"]
    reads = [r for r in routes if needs[r].permission == "read"]
    assert writes
    assert reads
    for route, response in _send_all(workspace, writes, viewer).items():
        assert response.status_code == 403, (route, response.text)
        assert "may not" in response.json()["error"]
    for route, response in _send_all(workspace, reads, roleless).items():
        assert response.status_code == 403, (route, response.text)
    # Scoped routes: the role that would do, on another environment, is refused.
    role_for = {"read": "viewer", "deploy": "deployer", "approve": "approver", "operate": "admin"}
    scoped = [r for r in routes if needs[r].scoped]
    assert len(scoped) >= 10
    for route in scoped:
        headers = elsewhere[role_for[str(needs[route].permission)]]
        ((_, response),) = _send_all(workspace, [route], headers).items()
        assert response.status_code == 403, (route, response.text)
        assert "in dev" in response.json()["error"], response.text


def test_the_security_page_lists_every_route_with_its_permission(workspace: Workspace) -> None:
    page = (REPO / "docs" / "security.md").read_text()
    table = markdown_table(create_app(workspace).openapi())
    missing = [line for line in table.splitlines() if line not in page]
    assert not missing, (
        "docs/security.md: regenerate the route table with "
        f"`.venv/bin/python scripts/route_permissions.py`; missing lines: {missing}"
    )
