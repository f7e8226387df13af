"""Who may do what, through the real stack (issue 13, items 3 and 4): a real `roost up`, real
HTTP, tokens made with `roost token create`. A deployer and an approver on production: the
deployer's deploy waits; the deployer cannot approve it, with or without --as; the approver
can. A viewer reads and is refused every write; no credential is refused everything. And the
issue's attacks — a name declared in the body or in $ROOST_USER, --force and the scan override
from someone who is not allowed to skip a guardrail — now fail for the attacker."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._auth import bearer, cli_token, owner_headers
from tests._canary import api, wait_for
from tests._projects import project_down
from tests._roost import REPO, roost

from roost.api.auth.listing import PUBLIC_PATHS, route_permissions
from roost.store import open_store

PROJECT = """\
project: guarded
version: 1
environments:
  dev: {}
  production:
    approval:
      required: true
services:
  - name: hello
    command: python3 app.py
    listen: auto
    replicas: 1
    probes:
      readiness:
        http:
          path: /healthz
        period: 1s
"""


def _error(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1, result.stdout
    assert lines[0].startswith("roost: error: "), result.stderr
    return str(result.stderr)


def _fill(path: str) -> str:
    values = {"service": "hello", "rollout_id": "01ABC", "revision": "hello-r1", "what": "hello"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


@pytest.mark.timeout(300)
def test_deployer_approver_viewer_and_nobody(tmp_path: Path) -> None:
    root = tmp_path / "guarded"
    root.mkdir()
    shutil.copy(REPO / "examples" / "hello" / "app.py", root / "app.py")
    (root / "roost.yaml").write_text(PROJECT)
    with project_down(root):
        up = roost("up", "-p", str(root), timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        token_dir = root / ".roost" / "auth"
        assert token_dir.stat().st_mode & 0o777 == 0o700
        assert (token_dir / "token").stat().st_mode & 0o777 == 0o600
        dee = cli_token(root, "dee", "deployer", environment="production")
        abe = cli_token(root, "abe", "approver", environment="production")
        vi = cli_token(root, "vi", "viewer")
        p = ("-p", str(root))
        base = api(root)

        # The deployer's production deploy waits for approval.
        asked = roost("deploy", "hello", "--env", "production", *p, env=dee, timeout=120)
        assert asked.returncode == 3, asked.stdout + asked.stderr
        assert "waits for approval" in asked.stderr
        (waiting,) = httpx.get(
            f"{base}/api/v1/rollouts",
            params={"environment": "production", "active": "true"},
            headers=bearer(vi["ROOST_TOKEN"]),
            timeout=10,
        ).json()
        rollout_id = waiting["id"]
        assert waiting["state"] == "awaiting_approval"

        # The deployer cannot approve it: not an approver, and --as is no way around that;
        # neither is a name in $ROOST_USER.
        own = roost("approve", rollout_id, *p, env=dee)
        assert own.returncode == 1
        assert "dee may not approve in production" in _error(own)
        posing = roost("approve", rollout_id, *p, "--as", "abe", env=dee)
        assert posing.returncode == 1
        assert "--as is impersonation, for admins" in _error(posing)
        named = roost("approve", rollout_id, *p, env={**dee, "ROOST_USER": "abe"})
        assert named.returncode == 1
        assert "dee may not approve" in _error(named)
        # Naming someone else in the body is refused outright, not half-believed.
        claimed = httpx.post(
            f"{base}/api/v1/rollouts/{rollout_id}/approve",
            json={"actor": "abe"},
            headers=bearer(abe["ROOST_TOKEN"]),
            timeout=10,
        )
        assert claimed.status_code == 422, claimed.text
        assert "actor is not accepted" in claimed.json()["error"]

        # The deployer may not skip a guardrail either: overrides are their own permission.
        forced = roost(
            "rollback", "hello", "--env", "production", "--force", "trust me", *p, env=dee
        )
        assert forced.returncode == 1
        assert "dee may not override the schema check in production" in _error(forced)
        for option in ("--override-scan", "--override-budget", "--force"):
            skipped = roost(
                "deploy", "hello", "--env", "production", option, "hotfix now", *p, env=dee
            )
            assert skipped.returncode == 1, (option, skipped.stdout + skipped.stderr)
            assert "dee may not override" in _error(skipped), option

        # The approver can; the rollout starts, and the audit log names both people.
        approved = roost("approve", rollout_id, *p, env=abe, timeout=120)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert "approved by abe" in approved.stdout
        wait_for(
            lambda: (
                httpx.get(
                    f"{base}/api/v1/rollouts/{rollout_id}", headers=owner_headers(root), timeout=10
                ).json()["rollout"]["state"]
                != "awaiting_approval"
            ),
            timeout=60,
            what="the approved rollout to start",
        )
        with open_store(root=root) as store:
            actors = {(e.type, e.actor) for e in store.events.list("dev.roost.rollout.", limit=100)}
        assert ("dev.roost.rollout.approval_requested", "dee") in actors, actors
        assert ("dev.roost.rollout.approved", "abe") in actors, actors

        # A viewer reads everything and writes nothing: 403 on every write route.
        viewer = bearer(vi["ROOST_TOKEN"])
        for path in ("/api/v1/status", "/api/v1/rollouts", "/api/v1/events", "/api/v1/ps"):
            read = httpx.get(base + path, headers=viewer, timeout=10)
            assert read.status_code == 200, (path, read.text)
        document = httpx.get(base + "/openapi.json", timeout=10).json()
        routes = route_permissions(document)
        writes = [r for r in routes if r.permission not in (None, "read")]
        assert len(writes) >= 15
        for route in writes:
            body = {} if route.method in ("POST", "PUT") else None
            refused = httpx.request(
                route.method, base + _fill(route.path), json=body, headers=viewer, timeout=30
            )
            assert refused.status_code == 403, (route, refused.text)

        # No credential (or a made-up one): 401 on every route but the public ones.
        for route in routes:
            if route.path in PUBLIC_PATHS:
                continue
            body = {} if route.method in ("POST", "PUT") else None
            for headers in ({}, bearer("roost_" + "x" * 43)):
                nobody = httpx.request(
                    route.method, base + _fill(route.path), json=body, headers=headers, timeout=30
                )
                assert nobody.status_code == 401, (route, headers, nobody.text)
        assert httpx.get(base + "/healthz", timeout=10).status_code == 200

        # Revoking a token locks its holder out at once.
        revoked = roost("token", "revoke", "dee", *p)
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        after = roost("status", *p, env=dee)
        assert after.returncode == 1
        assert "token 'dee' was revoked" in _error(after)
        listed = roost("token", "list", *p, "--json")
        rows = {t["name"]: t for t in json.loads(listed.stdout)}
        assert rows["dee"]["revoked_at"] is not None
        assert rows["abe"]["last_used_at"] is not None
        assert rows["abe"]["roles"] == [
            {"role": "approver", "environment": "production", "service": "*"}
        ]
