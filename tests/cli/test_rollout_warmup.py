"""Warm-up gating with real processes: a new revision whose first requests are slow (cold
caches) gets no user traffic until warm-up requests have made it fast — readiness alone would
have sent users to it at once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from tests._canary import TOKENS, Load, rollout, router_url, running, write_project
from tests._roost import roost

WARMUP = """\
    warmup:
      requests: 4
      until_p95_below: 100ms
      max_duration: 30s
      on_timeout: fail"""

COLD_REQUESTS = 12
COLD_SECONDS = 0.3


@pytest.mark.timeout(360)
def test_a_cold_revision_gets_traffic_only_once_warm(tmp_path: Path) -> None:
    root = tmp_path / "canary"
    write_project(root, warmup=WARMUP)
    with running(root):
        with Load(router_url(root)) as load:
            write_project(root, greeting="v2", warmup=WARMUP)
            deployed = roost(
                "deploy", "web", "-p", str(root), "--as", "alice",
                "--set-env", f"HELLO_COLD_REQUESTS={COLD_REQUESTS}",
                "--set-env", f"HELLO_COLD_DELAY_MS={int(COLD_SECONDS * 1000)}",
                env=TOKENS, timeout=120,
            )  # fmt: skip
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        entries = rollout(root)["timeline"]
    timeline = {e["kind"]: datetime.fromisoformat(e["at"]) for e in entries}
    # Three rounds of four cold requests, 0.3 s each, before a round is fast enough.
    rounds = COLD_REQUESTS * COLD_SECONDS
    assert (timeline["traffic_started"] - timeline["started"]).total_seconds() >= rounds * 0.9
    canary = load.by("web-r2")
    assert len(canary) > 50, "the canary got little traffic"
    assert all(s.status == 200 for s in canary)
    # The app marks each answer its cold caches gave; a latency threshold would also count a
    # request that merely waited for a CPU on a loaded machine.
    cold = [s for s in canary if s.cold]
    assert not cold, f"{len(cold)} users got a cold replica's answer"
