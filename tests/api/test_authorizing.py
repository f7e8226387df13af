"""Authentication and authorization in process: roles per environment, overrides as their own
permission, expiry and revocation (and how long a revocation made elsewhere may take), the
owner's token, and impersonation counted by four eyes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._auth import admin_headers, bearer, make_token
from tests._roost import REPO

from roost.api import create_app
from roost.api.auth import Authenticator, Grant, Permission, Role, ensure_owner_token, token_hash
from roost.api.auth.permissions import allowed
from roost.clock import VirtualClock
from roost.control.paths import owner_token_path, read_owner_token
from roost.control.workspace import Workspace, open_workspace
from roost.rollout.guarding import check_approver
from roost.spec.environments import Approval


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "canary"
    shutil.copytree(REPO / "examples" / "canary", root)
    text = (root / "roost.yaml").read_text()
    (root / "roost.yaml").write_text(
        text.replace("environments:\n  dev: {}\n", "environments:\n  dev: {}\n  production: {}\n")
    )
    with open_workspace(root) as ws:
        yield ws


def _call(
    ws: Workspace, method: str, path: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=headers
        ) as client:
            return await client.request(method, path, json=body)

    return asyncio.run(call())


def test_roles_grant_what_they_say_where_they_say() -> None:
    deployer = [Grant(Role.DEPLOYER, "staging-*", "web")]
    assert allowed(deployer, Permission.DEPLOY, environment="staging-eu", service="web")
    assert not allowed(deployer, Permission.DEPLOY, environment="staging-eu", service="db")
    assert not allowed(deployer, Permission.DEPLOY, environment="production", service="web")
    assert not allowed(deployer, Permission.APPROVE, environment="staging-eu", service="web")
    assert not allowed(deployer, Permission.OVERRIDE, environment="staging-eu", service="web")
    # Project-wide: reading needs a role somewhere, anything else a role everywhere.
    assert allowed(deployer, Permission.READ)
    assert not allowed(deployer, Permission.DEPLOY)
    assert allowed([Grant(Role.ADMIN)], Permission.ADMIN)
    assert not allowed([Grant(Role.ADMIN, "dev")], Permission.ADMIN)
    assert not allowed([Grant(Role.VIEWER)], Permission.DEPLOY, environment="dev")


def test_a_deployer_may_not_count_their_own_approval_or_override(workspace: Workspace) -> None:
    deployer = bearer(make_token(workspace.store, role="deployer", environment="dev"))
    for extra, error in (
        ({"approve": True}, "may not approve in dev (needs `approve`)"),
        ({"force": "hotfix"}, "may not override promotion in dev"),
        ({"override_scan": "x"}, "may not override the scan gate in dev"),
        ({"override_budget": "x"}, "may not override the error budget in dev"),
    ):
        body = {"service": "web"} | extra
        refused = _call(workspace, "POST", "/api/v1/rollouts", deployer, body)
        assert refused.status_code == 403, refused.text
        assert error in refused.json()["error"]
        assert workspace.store.releases.list() == []


def test_impersonation_is_for_admins_and_four_eyes_sees_through_it(
    workspace: Workspace,
) -> None:
    deployer = bearer(make_token(workspace.store, "dee", role="deployer"))
    posing = _call(workspace, "GET", "/api/v1/status", deployer | {"X-Roost-As": "abe"})
    assert posing.status_code == 403
    assert "--as is impersonation, for admins" in posing.json()["error"]
    admin = admin_headers(workspace.store, "ada")
    me = _call(workspace, "GET", "/api/v1/auth/whoami", admin | {"X-Roost-As": "bob"})
    assert me.json()["actor"] == "bob (impersonated by ada)"
    bad = _call(workspace, "GET", "/api/v1/status", admin | {"X-Roost-As": "a b"})
    assert bad.status_code == 400
    # ada deployed; ada acting as bob is still ada: four eyes refuses.
    four_eyes = Approval(required=True)
    refused = check_approver(four_eyes, requested_by="ada", approver="bob (impersonated by ada)")
    assert refused is not None
    assert "four eyes" in refused.message
    assert check_approver(four_eyes, requested_by="ada", approver="bob") is None


def test_expired_and_revoked_tokens_are_refused(workspace: Workspace) -> None:
    store = workspace.store
    token = make_token(store, "soon", role="viewer")
    assert _call(workspace, "GET", "/api/v1/status", bearer(token)).status_code == 200
    old = "roost_" + "E" * 43
    store.tokens.create(
        "old",
        token_hash=token_hash(old),
        created_by="tests",
        expires_at=store.clock.now() - timedelta(seconds=1),
        bindings=[("admin", "*", "*")],
    )
    expired = _call(workspace, "GET", "/api/v1/status", bearer(old))
    assert expired.status_code == 401
    assert expired.json()["error"] == "token 'old' expired"
    admin = admin_headers(store)
    revoked = _call(workspace, "DELETE", "/api/v1/auth/tokens/soon", admin)
    assert revoked.status_code == 200, revoked.text
    refused = _call(workspace, "GET", "/api/v1/status", bearer(token))
    assert refused.status_code == 401
    assert refused.json()["error"] == "token 'soon' was revoked"
    (event,) = store.events.list("dev.roost.auth.token.revoked")
    assert event.actor is not None
    assert event.actor.startswith("test-admin-")


def test_a_revocation_elsewhere_takes_effect_within_the_cache_time(workspace: Workspace) -> None:
    clock = VirtualClock(workspace.clock.now())
    auth = Authenticator(workspace.store, clock=clock, cache_seconds=0.2)
    token = make_token(workspace.store, "cached", role="viewer")
    header = f"Bearer {token}"
    assert auth.authenticate(header).subject == "cached"
    workspace.store.tokens.revoke("cached")  # as another roost serve sharing the store would
    assert auth.cached(header) is not None  # still remembered ...
    forgotten = asyncio.run(_wait_until_forgotten(auth, header))
    assert forgotten  # ... but not for longer than the cache time
    with pytest.raises(Exception, match="was revoked"):
        auth.authenticate(header)


async def _wait_until_forgotten(auth: Authenticator, header: str) -> bool:
    for _ in range(100):
        if auth.cached(header) is None:
            return True
        await asyncio.sleep(0.05)
    return False


def test_the_owner_token_is_made_once_and_remade_when_the_store_refuses_it(
    workspace: Workspace,
) -> None:
    state = workspace.state_dir
    first = ensure_owner_token(workspace.store, state, created_by="roost serve")
    saved = read_owner_token(state)
    assert saved is not None
    assert owner_token_path(state).stat().st_mode & 0o777 == 0o600
    assert owner_token_path(state).parent.stat().st_mode & 0o777 == 0o700
    assert ensure_owner_token(workspace.store, state, created_by="roost serve") == first
    assert read_owner_token(state) == saved
    workspace.store.tokens.revoke(first)
    second = ensure_owner_token(workspace.store, state, created_by="roost serve")
    assert second == f"{first}-2"
    assert read_owner_token(state) != saved
    listed = _call(workspace, "GET", "/api/v1/auth/tokens", bearer(read_owner_token(state) or ""))
    assert listed.status_code == 200, listed.text
    assert [t["name"] for t in listed.json()] == [first, second]
