"""OIDC bearer JWTs (issue 13, item 3): tokens from the issuer roost.yaml names are accepted when
their signature verifies against the issuer's JWKS — served here on 127.0.0.1 with keys the test
makes — and refused when expired, for another audience or issuer, signed by a foreign key, or
asking for ``alg: none`` or HMAC. Roles come from roost.yaml's group mapping and from role
bindings an admin grants to ``group:NAME``."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from tests._auth import admin_headers, bearer
from tests._roost import REPO

from roost.api import create_app
from roost.clock import RealClock
from roost.control.workspace import Workspace, open_workspace
from roost.spec import SpecError, parse_project

AUDIENCE = "roost-test"
KID = "test-key-1"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def issuer(key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [jwk | {"kid": KID, "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/jwks.json" else 404
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body if status == 200 else b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, issuer: str) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("oidc") / "canary"
    shutil.copytree(REPO / "examples" / "canary", root)
    text = (
        (root / "roost.yaml")
        .read_text()
        .replace("environments:\n  dev: {}\n", "environments:\n  dev: {}\n  production: {}\n")
    )
    text += f"""
auth:
  oidc:
    issuer: {issuer}/
    audience: {AUDIENCE}
    jwks_url: {issuer}/jwks.json
    subject_claim: email
    groups_claim: teams
    algorithms: [RS256]
    roles:
      - group: sre
        role: deployer
        environment: dev
        service: "*"
      - subject: carol@example.com
        role: approver
        environment: production
"""
    (root / "roost.yaml").write_text(text)
    with open_workspace(root) as ws:
        yield ws


def _jwt(key: Any, issuer: str, *, algorithm: str = "RS256", **claims: Any) -> str:
    now = int(RealClock().now().timestamp())
    payload = {
        "iss": f"{issuer}/",
        "aud": AUDIENCE,
        "sub": "u-1",
        "email": "alice@example.com",
        "teams": ["sre"],
        "iat": now,
        "exp": now + 300,
    } | claims
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": KID})


def _get(ws: Workspace, path: str, headers: dict[str, str]) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=headers
        ) as client:
            return await client.get(path)

    return asyncio.run(call())


def _post(ws: Workspace, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://roost", headers=headers
        ) as client:
            return await client.post(path, json=body)

    return asyncio.run(call())


def test_a_token_from_the_issuer_authenticates_with_its_mapped_roles(
    workspace: Workspace, key: rsa.RSAPrivateKey, issuer: str
) -> None:
    me = _get(workspace, "/api/v1/auth/whoami", bearer(_jwt(key, issuer)))
    assert me.status_code == 200, me.text
    assert me.json() | {"roles": None} == {
        "subject": "alice@example.com",  # subject_claim: email
        "actor": "alice@example.com",
        "via": "oidc",
        "groups": ["sre"],  # groups_claim: teams
        "roles": None,
        "admin": False,
    }
    assert me.json()["roles"] == [{"role": "deployer", "environment": "dev", "service": "*"}]
    # Deployer on dev only: production is refused, and so is anything an admin does.
    production = {"service": "web", "environment": "production"}
    refused = _post(workspace, "/api/v1/rollouts", production, bearer(_jwt(key, issuer)))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "alice@example.com may not deploy in production on web"
    tokens = _get(workspace, "/api/v1/auth/tokens", bearer(_jwt(key, issuer)))
    assert tokens.status_code == 403
    carol = _jwt(key, issuer, email="carol@example.com", teams=[])
    roles = _get(workspace, "/api/v1/auth/whoami", bearer(carol)).json()["roles"]
    assert roles == [{"role": "approver", "environment": "production", "service": "*"}]


def test_an_admin_grants_a_role_to_an_oidc_group(
    workspace: Workspace, key: rsa.RSAPrivateKey, issuer: str
) -> None:
    admin = admin_headers(workspace.store)
    binding = {"subject": "group:auditors", "role": "viewer", "environment": "production"}
    granted = _post(workspace, "/api/v1/auth/roles", binding, admin)
    assert granted.status_code == 200, granted.text
    dave = bearer(_jwt(key, issuer, email="dave@example.com", teams=["auditors"]))
    roles = _get(workspace, "/api/v1/auth/whoami", dave).json()["roles"]
    assert roles == [{"role": "viewer", "environment": "production", "service": "*"}]
    (event,) = workspace.store.events.list("dev.roost.auth.role.granted")
    assert event.actor is not None
    assert event.actor.startswith("test-admin-")
    assert event.data["subject"] == "group:auditors"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp": int(RealClock().now().timestamp()) - 3600}, "the OIDC token expired"),
        ({"aud": "someone-else"}, "invalid OIDC token: Audience doesn't match"),
        ({"iss": "https://evil.example.com/"}, "invalid OIDC token: Invalid issuer"),
        ({"email": "alice (impersonated by bob)"}, "not a name roost can record"),
        ({"email": None}, "'email' claim is not a name roost can record"),
    ],
)
def test_a_bad_token_is_401(
    workspace: Workspace, key: rsa.RSAPrivateKey, issuer: str, claims: Any, error: str
) -> None:
    response = _get(workspace, "/api/v1/status", bearer(_jwt(key, issuer, **claims)))
    assert response.status_code == 401, response.text
    assert error in response.json()["error"]


def test_a_token_signed_by_anyone_else_is_401(workspace: Workspace, issuer: str) -> None:
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _get(workspace, "/api/v1/status", bearer(_jwt(foreign, issuer)))
    assert forged.status_code == 401
    assert "Signature verification failed" in forged.json()["error"]
    unsigned = jwt.encode(
        {"iss": f"{issuer}/", "aud": AUDIENCE, "email": "x@example.com", "exp": 2**40},
        None,
        algorithm="none",
        headers={"kid": KID},
    )
    assert _get(workspace, "/api/v1/status", bearer(unsigned)).status_code == 401
    # HMAC "signed" with the public key (the classic algorithm confusion) is refused too.
    public_pem = json.loads(RSAAlgorithm.to_jwk(foreign.public_key()))["n"]
    hmac = jwt.encode(
        {"iss": f"{issuer}/", "aud": AUDIENCE, "email": "x@example.com", "exp": 2**40},
        public_pem,
        algorithm="HS256",
        headers={"kid": KID},
    )
    assert _get(workspace, "/api/v1/status", bearer(hmac)).status_code == 401


@pytest.mark.parametrize(
    ("oidc", "error"),
    [
        (
            "{issuer: http://login.example.com/, audience: a, jwks_url: https://x/j}",
            "must be an https URL",
        ),
        ("{issuer: https://x/, audience: a}", "jwks_url"),
        (
            "{issuer: https://x/, audience: a, jwks_url: https://x/j, algorithms: [HS256]}",
            "algorithms",
        ),
        (
            "{issuer: https://x/, audience: a, jwks_url: https://x/j, "
            "roles: [{group: g, subject: s, role: admin}]}",
            "exactly one of subject or group",
        ),
        (
            "{issuer: https://x/, audience: a, jwks_url: https://x/j, "
            "roles: [{group: g, role: root}]}",
            "role",
        ),
    ],
)
def test_roost_yaml_refuses_a_bad_oidc_section(oidc: str, error: str) -> None:
    text = (REPO / "examples" / "canary" / "roost.yaml").read_text() + f"auth:\n  oidc: {oidc}\n"
    with pytest.raises(SpecError) as refused:
        parse_project(text, filename="roost.yaml")
    assert error in str(refused.value)
