"""Workload identity with real processes: `roost up` runs services A and B (small apps written
here); A reads the token roost keeps in `$ROOST_IDENTITY_TOKEN_FILE` and calls B with it; B
verifies it through the control plane's OIDC discovery and JWKS (PyJWT's PyJWKClient) — no
secret shared with anyone — and refuses an expired token, a forged one and one for another
audience. A key rotation keeps the tokens already out verifiable."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests._projects import project_down
from tests._roost import roost

pytestmark = pytest.mark.timeout(360)

A_APP = '''\
"""Service A: calls B with its workload token."""
import json, os, stat, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, {"ok": True})
        path = os.environ["ROOST_IDENTITY_TOKEN_FILE"]
        try:
            with open(path) as f:  # read on every use: roost replaces it before it expires
                token = f.read()
        except FileNotFoundError:
            return self.answer(503, {"error": "no token yet"})
        info = os.stat(path)
        request = urllib.request.Request(
            os.environ["B_URL"] + "/whoami", headers={"Authorization": "Bearer " + token}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, json.load(exc)
        self.answer(200, {
            "b_status": status,
            "b_says": body,
            "token_file": path,
            "mode": stat.S_IMODE(info.st_mode),
            "uid": info.st_uid,
        })

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
'''

B_APP = '''\
"""Service B: answers only callers whose workload token verifies against roost's JWKS."""
import json, os, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

ISSUER = os.environ["ISSUER"]
AUDIENCE = os.environ["AUDIENCE"]
with urllib.request.urlopen(ISSUER + "/.well-known/openid-configuration", timeout=30) as r:
    DISCOVERY = json.load(r)
KEYS = jwt.PyJWKClient(DISCOVERY["jwks_uri"])  # fetches again when it meets a new kid


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, {"ok": True})
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return self.answer(401, {"error": "no bearer token"})
        token = header.removeprefix("Bearer ")
        try:
            key = KEYS.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=DISCOVERY["id_token_signing_alg_values_supported"],
                audience=AUDIENCE,
                issuer=DISCOVERY["issuer"],
                options={"require": ["exp", "iat", "nbf", "sub", "jti"]},
            )
        except jwt.PyJWTError as exc:
            return self.answer(401, {"error": type(exc).__name__ + ": " + str(exc)})
        self.answer(200, {"sub": claims["sub"], "aud": claims["aud"], "kid": key.key_id})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
'''


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _service(name: str, *, listen: int, env: dict[str, str], extra: str = "") -> str:
    env_lines = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in env.items())
    return (
        f"  - name: {name}\n"
        f"    command: [{json.dumps(sys.executable)}, {name}.py]\n"
        f"    listen: {listen}\n"
        f"    env:\n{env_lines}"
        "    probes:\n"
        "      readiness:\n"
        "        http:\n"
        "          path: /healthz\n"
        "        period: 1s\n"
        f"{extra}"
    )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    api, a_port, b_port = _free_ports(3)
    root = tmp_path / "idtest"
    root.mkdir()
    (root / "a.py").write_text(A_APP)
    (root / "b.py").write_text(B_APP)
    issuer = f"http://127.0.0.1:{api}"
    (root / "roost.yaml").write_text(
        "project: idtest\nversion: 1\nenvironments:\n  dev: {}\nservices:\n"
        + _service("b", listen=b_port, env={"ISSUER": issuer, "AUDIENCE": "svc-b"})
        + _service(
            "a",
            listen=a_port,
            env={"B_URL": f"http://127.0.0.1:{b_port}"},
            extra="    identity:\n      audience: svc-b\n",
        )
    )
    with project_down(root):
        up = roost("up", "--project", str(root), "--port", str(api), timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        yield root, {"api": api, "a": a_port, "b": b_port}


def _wait_for_a(a_port: int, timeout: float = 120) -> dict[str, Any]:
    """A's answer once it has a token and B answered it (the first token arrives seconds after
    the revision starts)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{a_port}/call", timeout=10)
        except httpx.HTTPError as exc:
            last = exc
        else:
            last = response.text
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
        time.sleep(0.5)
    raise AssertionError(f"A never called B with a token: {last}")


def _newest_key(root: Path) -> tuple[str, ec.EllipticCurvePrivateKey]:
    entries = json.loads((root / ".roost" / "identity" / "signing-keys.json").read_text())["keys"]
    active = entries[-1]
    key = serialization.load_pem_private_key(active["private_pem"].encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return active["kid"], key


def _claims(*, issuer: str, aud: str, issued: datetime, lifetime: timedelta) -> dict[str, Any]:
    return {
        "iss": issuer,
        "sub": "idtest/dev/a/forged",
        "aud": aud,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": f"test-{issued.timestamp()}",
    }


def _ask_b(b_port: int, token: str) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{b_port}/whoami",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_a_calls_b_with_its_workload_token_and_b_refuses_bad_ones(
    project: tuple[Path, dict[str, int]],
) -> None:
    root, ports = project
    issuer = f"http://127.0.0.1:{ports['api']}"
    answer = _wait_for_a(ports["a"])
    assert answer["b_status"] == 200, answer
    assert answer["b_says"]["sub"].startswith("idtest/dev/a/a-")
    assert answer["b_says"]["aud"] == "svc-b"
    # The token file: private to the replica's user (the one running roost here).
    assert answer["mode"] == 0o600
    assert answer["uid"] == os.getuid()
    token_file = Path(answer["token_file"])
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    token = token_file.read_text()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == issuer
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sub"] == answer["b_says"]["sub"]

    # Discovery and keys are public (no credential), and name this control plane.
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == issuer
    assert discovery["jwks_uri"] == f"{issuer}/.well-known/jwks.json"

    kid, key = _newest_key(root)
    now = datetime.now(UTC)
    b = ports["b"]
    # The legitimate token, shown by someone who holds it, verifies (B checks signature and
    # claims, not who sends it): the refusals below are about the tokens, not the caller.
    assert _ask_b(b, token).status_code == 200

    expired = jwt.encode(
        _claims(
            issuer=issuer,
            aud="svc-b",
            issued=now - timedelta(minutes=20),
            lifetime=timedelta(minutes=15),
        ),
        key,
        algorithm="ES256",
        headers={"kid": kid},
    )
    refused = _ask_b(b, expired)
    assert refused.status_code == 401
    assert "ExpiredSignatureError" in refused.json()["error"]

    fifteen = timedelta(minutes=15)
    wrong_audience = jwt.encode(
        _claims(issuer=issuer, aud="roost:idtest", issued=now, lifetime=fifteen),
        key,
        algorithm="ES256",
        headers={"kid": kid},
    )
    refused = _ask_b(b, wrong_audience)
    assert refused.status_code == 401
    assert "InvalidAudienceError" in refused.json()["error"]

    # Rotation: the new key is published at once (and signs after a minute's notice); the old
    # one stays in the JWKS until the tokens it signed have expired, so A's token gets through.
    rotated = roost("identity", "rotate-key", "--project", str(root))
    assert rotated.returncode == 0, rotated.stderr
    assert f"retired {kid}" in rotated.stdout
    jwks = httpx.get(f"{issuer}/.well-known/jwks.json", timeout=10).json()
    new_kid, new_key = _newest_key(root)
    assert {k["kid"] for k in jwks["keys"]} == {kid, new_kid}
    assert all("d" not in k for k in jwks["keys"]), "no private key is ever published"
    assert _ask_b(b, token).status_code == 200
    listed = roost("identity", "keys", "--project", str(root), env={"COLUMNS": "250"})
    assert listed.returncode == 0, listed.stderr
    assert kid in listed.stdout
    assert new_kid in listed.stdout
    assert "published; signs from" in listed.stdout
    again = _wait_for_a(ports["a"])
    assert again["b_status"] == 200, again
    # A token signed by the new key verifies as soon as B fetches the key set again for the
    # kid it has not seen (PyJWKClient does so at most every 30 s: within the notice).
    fresh = jwt.encode(
        _claims(issuer=issuer, aud="svc-b", issued=now, lifetime=fifteen),
        new_key,
        algorithm="ES256",
        headers={"kid": new_kid},
    )
    deadline = time.monotonic() + 90
    while (verified := _ask_b(b, fresh).json()).get("kid") != new_kid:
        assert time.monotonic() < deadline, verified
        time.sleep(1)
    foreign_key = ec.generate_private_key(ec.SECP256R1())
    for headers in ({"kid": kid}, {"kid": "someone-elses-key"}):
        forged = jwt.encode(
            _claims(issuer=issuer, aud="svc-b", issued=now, lifetime=fifteen),
            foreign_key,
            algorithm="ES256",
            headers=headers,
        )
        refused = _ask_b(b, forged)
        assert refused.status_code == 401, headers
        assert refused.json()["error"].startswith(("InvalidSignatureError", "PyJWKClientError"))

    # The rotation is in the audit log.
    events = roost("events", "--project", str(root), "--json")
    assert "dev.roost.identity.key_rotated" in events.stdout
    assert token not in events.stdout
