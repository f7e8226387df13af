"""Environments are boundaries, as a user drives them: one project with dev and staging running
the same service. A deploy to staging — even of a release that runs in dev under the same name
— starts staging's own replicas behind staging's own listener, and its canary moves staging's
weights only: dev's router, its traffic and its telemetry are untouched. Real processes, real
HTTP, real traffic (issue: a staging canary once moved weights on the dev router)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._canary import CANARY, TOKENS, Load, get, rollout, running
from tests._roost import roost
from tests._servers import free_port

PROJECT = """\
project: envs
version: 1
environments:
  dev:
    env:
      HELLO_GREETING: hello from dev
  staging:
    env:
      HELLO_GREETING: hello from staging
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
    rollout:
      strategy: canary
      steps:
        - set_weight: 30
        - analysis:
            duration: 2s
      abort_scale_down_delay: 2s
    analysis:
      interval: 1s
      checks:
        - metric: error_ratio
          max: 0.05
      min_samples: 3
      inconclusive_limit: 3
"""


def _ps(root: Path, environment: str) -> dict[str, Any]:
    state: dict[str, Any] = get(root, f"/api/v1/ps?environment={environment}")
    assert state["environment"] == environment
    return state


def _web(root: Path, environment: str) -> dict[str, Any]:
    web: dict[str, Any] = _ps(root, environment)["services"]["web"]
    return web


def _pids(web: dict[str, Any]) -> dict[str, set[int]]:
    return {
        rev["revision"]: {replica["pid"] for replica in rev["replicas"]} for rev in web["revisions"]
    }


@pytest.mark.timeout(240)
def test_a_staging_deploy_never_moves_dev_traffic(tmp_path: Path) -> None:
    root = tmp_path / "envs"
    root.mkdir()
    (root / "app.py").write_bytes((CANARY / "app.py").read_bytes())
    staging_port = free_port()
    (root / "roost.yaml").write_text(PROJECT.format(staging_port=staging_port))
    with running(root):
        dev = _web(root, "dev")
        assert dev["weights"] == {"web-r1": 100}
        # Staging runs the release dev runs, under the same name: its own replicas.
        first = roost(
            "deploy", "web", "--env", "staging", "--release", "web-r1", "-p", str(root),
            "--as", "alice", env=TOKENS, timeout=120,
        )  # fmt: skip
        assert first.returncode == 0, first.stdout + first.stderr
        staging = _web(root, "staging")
        assert staging["weights"] == {"web-r1": 100}
        assert staging["url"] == f"http://127.0.0.1:{staging_port}", "listen: {staging: PORT}"
        assert staging["url"] != dev["url"], "each environment has its own listener"
        assert not _pids(staging)["web-r1"] & _pids(_web(root, "dev"))["web-r1"]
        assert httpx.get(dev["url"] + "/", timeout=10).json()["greeting"] == "hello from dev"
        answer = httpx.get(staging["url"] + "/", timeout=10).json()
        assert answer["greeting"] == "hello from staging"

        # A new release's canary in staging, while both serve traffic (the canary is judged on
        # staging's requests only: dev's would never reach it).
        with Load(dev["url"]) as load, Load(staging["url"]) as staged_load:
            canary = roost(
                "deploy", "web", "--env", "staging", "-p", str(root), "--as", "alice",
                env=TOKENS, timeout=120,
            )  # fmt: skip
            assert canary.returncode == 0, canary.stdout + canary.stderr
            assert "web-r2 promoted" in canary.stdout
            dev_during = _web(root, "dev")
        staged = rollout(root, "web")
        assert (staged["environment"], staged["from_release"], staged["to_release"]) == (
            "staging",
            "web-r1",
            "web-r2",
        )
        steps = [e for e in staged["timeline"] if e["kind"] == "step"]
        assert steps, "the canary moved weights step by step"

        # dev: same weights, same revision, same replicas; not one request went to web-r2.
        assert dev_during["weights"] == {"web-r1": 100}
        dev_after = _web(root, "dev")
        assert dev_after["weights"] == {"web-r1": 100}
        assert dev_after["url"] == dev["url"]
        assert list(_pids(dev_after)) == ["web-r1"]
        assert _pids(dev_after) == _pids(dev)
        assert load.samples, "no traffic reached dev"
        assert {s.revision for s in load.samples} == {"web-r1"}
        assert {s.status for s in load.samples} == {200}
        assert staged_load.by("web-r2"), "staging's canary got staging's traffic"

        # staging: the new release has all of staging's traffic, on staging's listener.
        staging_after = _web(root, "staging")
        assert staging_after["weights"] == {"web-r1": 0, "web-r2": 100}
        assert httpx.get(staging["url"] + "/", timeout=10).json()["revision"] == "web-r2"
        assert httpx.get(dev["url"] + "/", timeout=10).json()["revision"] == "web-r1"

        # Telemetry is per environment: dev's never counted a web-r2 request.
        agent = httpx.get(get(root, "/api/v1/ps")["agent"]["url"] + "/metrics", timeout=10).text
        assert 'environment="staging",revision="web-r2",service="web"' in agent
        assert 'environment="dev",revision="web-r2"' not in agent
        assert 'environment="dev",revision="web-r1",service="web"' in agent

        shown = roost("ps", "-p", str(root), env={"COLUMNS": "250"})
        assert shown.returncode == 0, shown.stderr
        rows = [line for line in shown.stdout.splitlines() if "web-r" in line]
        assert any("dev" in line and "web-r1" in line for line in rows), shown.stdout
        assert any("staging" in line for line in rows), shown.stdout
