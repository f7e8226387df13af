"""SLOs under real traffic: `roost up` runs examples/hello, an outage fires the page tier within
the workbook's detection time, `roost slo status` / `roost alerts` / `roost slo history` show it,
the error-budget gate refuses a deploy (and an audited override lets it through), the canary
page check aborts that deploy, and recovery resolves the alert.

The arithmetic (SRE Workbook, chapter 5: a tier fires once the error ratio over its long window
exceeds burn x budget). SLO: 99 % over 1h, so the budget is 0.01; page tier: burn 14.4 over 30 s
and 5 s (14.4 x 30 s / 1 h = 12 % of the budget per long window, a valid tier). At a 60 % error
rate after a clean minute, the 30 s ratio passes 14.4 x 0.01 = 0.144 after 0.144 / 0.6 x 30 s =
7.2 s (the 5 s window after 1.2 s). The SLO loop runs every second here (ROOST_SLO_INTERVAL=1)
and the store counts whole seconds, so the page fires within 1 + 1 s of the moment both windows
pass the threshold. A loaded machine sends fewer requests and runs the loop late, so the test
does not time the page with its own clock: it recomputes that moment from the requests it
recorded (when each started, what it answered) and checks the firing event's recorded time
against it, with the loop's interval, the store's rounding and a few seconds of scheduling
slack. Recovery: the 5 s window's ratio drops under 0.144 five seconds after the last bad
request; waits on conditions use generous deadlines.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._auth import owner_headers
from tests._canary import Load, Sample, api, wait_for
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
INTERVAL = 1.0  # ROOST_SLO_INTERVAL
BUDGET, BURN = 0.01, 14.4
LONG, SHORT = timedelta(seconds=30), timedelta(seconds=5)
ROUNDING = 1.0  # the store counts requests in whole seconds
SLACK = 5.0  # a round that starts late, or runs long, on a loaded two-core machine


def _due(samples: Sequence[Sample], after: datetime) -> datetime:
    """The first moment after ``after`` when both windows' error ratios, over the requests the
    test itself sent, reach the page threshold (burn x budget): when the page is due."""
    threshold = BURN * BUDGET
    # Requests the router answered (one the client gave up on may never have reached it).
    ordered = sorted((s for s in samples if s.status is not None), key=lambda s: s.started)
    times = [s.started for s in ordered]
    bad_before = list(
        accumulate((s.status is not None and s.status >= 500 for s in ordered), initial=0)
    )

    def ratio(i: int, window: timedelta) -> float:
        """Error ratio of the requests in (times[i] - window, times[i]]."""
        first = bisect_right(times, times[i] - window)
        return (bad_before[i + 1] - bad_before[first]) / (i + 1 - first)

    for i, end in enumerate(times):
        if end > after and ratio(i, LONG) >= threshold and ratio(i, SHORT) >= threshold:
            return end
    raise AssertionError(f"the recorded traffic never reached the page threshold {threshold}")


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
    response = httpx.get(api(root) + path, headers=owner_headers(root), timeout=10)
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
@pytest.mark.timeout(480)
def test_outage_pages_in_time_gates_deploys_and_resolves(tmp_path: Path) -> None:
    root = make_project(tmp_path / "slos", PROJECT, app=REPO / "examples" / "hello" / "app.py")
    with _up(root):
        url = _get(root, "/api/v1/ps")["services"]["web"]["url"]
        wait_for(lambda: _ready(root, "web-r1"), timeout=60, what="web-r1 ready")
        with Load(url, threads=3) as load:
            start = _cli(root, "start", "web", "--set-env", "HELLO_FAIL_RATE=0.6")
            assert start.returncode == 0, start.stdout + start.stderr
            wait_for(lambda: _ready(root, "web-r2"), timeout=60, what="web-r2 ready")
            status = json.loads(_cli(root, "slo", "status", "--json").stdout)
            (slo,) = status["slos"]
            assert slo["firing"] == []
            assert slo["error"] is None
            assert slo["budget_remaining"] == pytest.approx(1.0)  # not one bad request yet

            # The outage: all traffic to the revision that fails 60 % of requests.
            moved = _cli(root, "weights", "web", "web-r2=100")
            assert moved.returncode == 0, moved.stdout + moved.stderr
            wait_for(
                lambda: "page-fast" in _firing(root), timeout=90, what="the page", interval=0.2
            )

            status = _cli(root, "slo", "status", "web")
            assert status.returncode == 0, status.stderr
            assert "web/availability" in status.stdout
            assert "page-fast (page)" in status.stdout
            alerts = _cli(root, "alerts")
            assert alerts.returncode == 0, alerts.stderr
            assert "page-fast" in alerts.stdout, alerts.stdout
            events = _get(root, "/api/v1/events?type=dev.roost.slo.alert.firing")
            assert [e["data"]["tier"] for e in events] == ["page-fast"]
            assert events[0]["subject"] == "web"
            # In time, by the recorded clocks: the outage began with the first request r2
            # answered; the page was due once both windows crossed the threshold.
            outage = min(s.started for s in load.by("web-r2"))
            due = _due(load.samples, outage)
            fired = datetime.fromisoformat(events[0]["time"])
            late = (fired - due).total_seconds()
            # Not before it was due (but for the store's whole seconds, at either end of a
            # window), and at most a round, the rounding and the slack after.
            assert -2 * ROUNDING <= late <= INTERVAL + ROUNDING + SLACK, (outage, due, fired)

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
            (override,) = _get(root, "/api/v1/events?type=dev.roost.slo.budget_gate.overridden")
            assert override["actor"].startswith("alice (impersonated by ")
            assert override["data"]["reason"] == "testing the canary page check"

            # Recovery: traffic back to the good revision; the page resolves.
            back = _cli(root, "weights", "web", "web-r1=100")
            assert back.returncode == 0, back.stdout + back.stderr
            wait_for(lambda: not _firing(root), timeout=90, what="the page to resolve")
        history = _cli(root, "slo", "history", "web", "--json")
        kinds = [json.loads(line)["type"] for line in history.stdout.splitlines()]
        assert kinds.index("dev.roost.slo.alert.resolved") < kinds.index(
            "dev.roost.slo.alert.firing"
        )
