"""SLOs under real traffic: `roost up` runs examples/hello, an outage fires the page tier within
the workbook's detection time, `roost slo status` / `roost alerts` / `roost slo history` show it,
the error-budget gate refuses a deploy (and an audited override lets it through), the canary
page check aborts that deploy, and recovery resolves the alert.

The arithmetic (SRE Workbook, chapter 5: a tier fires once the error ratio over its long window
exceeds burn x budget). SLO: 99 % over 1h, so the budget is 0.01; page tier: burn 14.4 over 30 s
and 5 s (14.4 x 30 s / 1 h = 12 % of the budget per long window, a valid tier). At a 60 % error
rate after a clean minute, the 30 s ratio passes 14.4 x 0.01 = 0.144 after 0.144 / 0.6 x 30 s =
7.2 s (the 5 s window after 1.2 s). The SLO loop runs every second here (ROOST_SLO_INTERVAL=1)
and the store counts whole seconds, so the page fires within 7.2 + 1 + 1 s; we allow 15 s on
two shared cores. Recovery: the 5 s window's ratio drops under 0.144 five seconds after the
last bad request, so it resolves within 5 + 1 + 1 s; we allow 20 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._canary import Load, api, wait_for
from tests._projects import make_project, web_project
from tests._roost import REPO, kill_leftovers, roost

PROJECT = web_project(
    "slos",
    environments="  dev:\n    error_budget_gate: true\n",
    web="""\
    rollout:
      strategy: canary
      steps:
        - set_weight: 20
        - analysis:
            duration: 30s
    analysis:
      interval: 1s
      checks:
        # Lenient on purpose: here the SLO page check is what must stop the canary.
        - metric: error_ratio
          max: 0.99
      min_samples: 5
    slos:
      - name: availability
        objective: 99
        window: 1h
        sli:
          kind: ratio
        alerts:
          - name: page-fast
            severity: page
            burn_rate: 14.4
            long_window: 30s
            short_window: 5s
""",
)
ENV = {"ROOST_SLO_INTERVAL": "1"}


@contextmanager
def _up(root: Path) -> Iterator[None]:
    up = roost("up", "--project", str(root), env=ENV, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield
    finally:
        roost("down", "--project", str(root), timeout=120)
        kill_leftovers(root)


def _get(root: Path, path: str) -> Any:
    response = httpx.get(api(root) + path, timeout=10)
    response.raise_for_status()
    return response.json()


def _ready(root: Path, revision: str) -> bool:
    for rev in _get(root, "/api/v1/ps")["services"]["web"].get("revisions", []):
        if rev["revision"] == revision:
            return any(r.get("ready") for r in rev.get("replicas", []))
    return False


def _firing(root: Path) -> list[str]:
    return [a["tier"] for a in _get(root, "/api/v1/alerts")["alerts"]]


def _cli(root: Path, *args: str, timeout: float = 60) -> Any:
    return roost(*args, "--project", str(root), env=ENV, timeout=timeout)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_outage_pages_in_time_gates_deploys_and_resolves(tmp_path: Path) -> None:
    root = make_project(tmp_path / "slos", PROJECT, app=REPO / "examples" / "hello" / "app.py")
    with _up(root):
        url = _get(root, "/api/v1/ps")["services"]["web"]["url"]
        wait_for(lambda: _ready(root, "web-r1"), timeout=20, what="web-r1 ready")
        with Load(url, threads=3):
            start = _cli(root, "start", "web", "--set-env", "HELLO_FAIL_RATE=0.6")
            assert start.returncode == 0, start.stdout + start.stderr
            wait_for(lambda: _ready(root, "web-r2"), timeout=20, what="web-r2 ready")
            status = json.loads(_cli(root, "slo", "status", "--json").stdout)
            (slo,) = status["slos"]
            assert slo["firing"] == []
            assert slo["error"] is None
            assert slo["budget_remaining"] == pytest.approx(1.0)  # not one bad request yet

            # The outage: all traffic to the revision that fails 60 % of requests.
            moved = _cli(root, "weights", "web", "web-r2=100")
            assert moved.returncode == 0, moved.stdout + moved.stderr
            began = time.monotonic()
            wait_for(
                lambda: "page-fast" in _firing(root), timeout=15, what="the page", interval=0.2
            )
            detected = time.monotonic() - began
            assert detected <= 15, detected

            status = _cli(root, "slo", "status", "web")
            assert status.returncode == 0, status.stderr
            assert "web/availability" in status.stdout
            assert "page-fast (page)" in status.stdout
            alerts = _cli(root, "alerts")
            assert alerts.returncode == 0, alerts.stderr
            assert "page-fast" in alerts.stdout, alerts.stdout
            events = _get(root, "/api/v1/events?type=roost.slo.alert.firing")
            assert [e["data"]["tier"] for e in events] == ["page-fast"]
            assert events[0]["subject"] == "web"

            # The budget is spent (60 % errors against a 1 % budget): deploys are refused...
            refused = _cli(root, "deploy", "web", "--set-env", "HELLO_FAIL_RATE=0.9", "--detach")
            assert refused.returncode == 1
            assert "Traceback" not in refused.stderr
            assert refused.stderr.startswith("roost: error: web's error budget in dev is spent")
            assert "--override-budget" in refused.stderr
            # ...unless overridden with a reason (audited); then the canary's own traffic pages
            # and the SLO check aborts the rollout.
            forced = _cli(
                root, "deploy", "web", "--set-env", "HELLO_FAIL_RATE=0.9",
                "--override-budget", "testing the canary page check", "--as", "alice",
                timeout=60,
            )  # fmt: skip
            assert forced.returncode == 1, forced.stdout + forced.stderr
            assert "SLO page alert on the canary's traffic" in forced.stdout + forced.stderr
            (override,) = _get(root, "/api/v1/events?type=roost.slo.budget_gate.overridden")
            assert override["actor"] == "alice"
            assert override["data"]["reason"] == "testing the canary page check"

            # Recovery: traffic back to the good revision; the page resolves.
            back = _cli(root, "weights", "web", "web-r1=100")
            assert back.returncode == 0, back.stdout + back.stderr
            wait_for(lambda: not _firing(root), timeout=20, what="the page to resolve")
        history = _cli(root, "slo", "history", "web", "--json")
        kinds = [json.loads(line)["type"] for line in history.stdout.splitlines()]
        assert kinds.index("roost.slo.alert.resolved") < kinds.index("roost.slo.alert.firing")
