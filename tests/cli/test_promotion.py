"""Promotion is enforced, as a user drives it: staging (``promote_from: dev``) refuses a release
until it has soaked in dev for ``soak_time`` — the refusal names the release, where it stands
in dev and how long is left — and ``roost promote RELEASE --to staging`` rolls it out once it
has. Real processes, real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests._canary import CANARY, TOKENS, get, running
from tests._roost import roost
from tests._servers import free_port

PROJECT = """\
project: promoted
version: 1
environments:
  dev: {{}}
  staging:
    promote_from: dev
    soak_time: {soak}
services:
  - name: web
    command: python3 app.py
    listen: {{dev: auto, staging: {staging_port}}}
    replicas: 1
    secrets:
      - name: APP_TOKEN
        from: env:APP_TOKEN_V1
    probes:
      readiness:
        http:
          path: /healthz
        period: 1s
"""


@pytest.mark.timeout(240)
def test_promotion_is_refused_until_the_soak_then_allowed(tmp_path: Path) -> None:
    root = tmp_path / "promoted"
    root.mkdir()
    (root / "app.py").write_bytes((CANARY / "app.py").read_bytes())
    port = free_port()
    (root / "roost.yaml").write_text(PROJECT.format(soak="1h", staging_port=port))
    p = ("-p", str(root), "--as", "alice")
    with running(root):
        refused = roost("deploy", "web", "--env", "staging", *p, env=TOKENS, timeout=120)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "staging takes releases from dev: web-r1 was promoted in dev" in refused.stderr
        assert "soaks for 1h00m:" in refused.stderr
        assert " left" in refused.stderr
        assert get(root, "/api/v1/rollouts?environment=staging") == []

        # A soak of 2 s, long over by now (deploys read roost.yaml again).
        (root / "roost.yaml").write_text(PROJECT.format(soak="2s", staging_port=port))
        promoted = roost("promote", "web-r1", "--to", "staging", *p, env=TOKENS, timeout=120)
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        (staged,) = get(root, "/api/v1/rollouts?environment=staging")
        assert (staged["to_release"], staged["state"]) == ("web-r1", "promoted")
        assert staged["environment"] == "staging"
