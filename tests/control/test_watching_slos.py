"""The SLO loop's alert state lives in the events table: a restarted watcher does not fire an
alert twice, an SLO it cannot evaluate keeps its alert, and recovery resolves it. A real SQLite
store on a virtual clock; the agent's answers are a stand-in (counts are what this is about)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roost.clock.virtual import VirtualClock
from roost.control.watching_slos import FIRING, RESOLVED, SloWatcher
from roost.control.workspace import Workspace, open_workspace

PROJECT = """\
project: w
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 -m http.server $PORT
    slos:
      - name: availability
        objective: 99
        window: 1h
        sli: {kind: ratio}
        alerts:
          - {name: page, severity: page, burn_rate: 14.4, long_window: 1m, short_window: 10s}
"""


class Counts:
    """What the agent would answer: ``bad`` of ``total`` requests were 5xx in every window."""

    def __init__(self) -> None:
        self.total, self.bad = 1000, 0
        self.up = True

    def sli_counts(
        self, service: str, *, window: float, under: float | None = None, revision: Any = None
    ) -> dict[str, Any]:
        return {"total": self.total, "classes": {"2xx": self.total - self.bad, "5xx": self.bad}}

    def connect(self) -> Counts:
        if not self.up:
            raise RuntimeError("the agent at http://127.0.0.1:1 does not answer")
        return self


def _ws(tmp_path: Path, clock: VirtualClock) -> Workspace:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    return open_workspace(tmp_path, clock=clock)


def _events(ws: Workspace) -> list[tuple[str, str]]:
    return [(e.type, e.data["tier"]) for e in ws.store.events.list("roost.slo.alert.")][::-1]


def test_alert_state_survives_a_restart_and_unknown_is_not_resolved(tmp_path: Path) -> None:
    clock = VirtualClock(datetime(2025, 6, 1, tzinfo=UTC))
    agent = Counts()
    with _ws(tmp_path, clock) as ws:
        first = SloWatcher(ws, agent_dir=tmp_path, connect=agent.connect)
        first.round()
        assert _events(ws) == []
        agent.bad = 500  # 50 % errors: burn 50 > 14.4 over both windows
        first.round()
        assert _events(ws) == [(FIRING, "page")]
        fired_at = first.since()[("web", "availability", "page")]

        clock.advance(30)
        again = SloWatcher(ws, agent_dir=tmp_path, connect=agent.connect)  # a restart
        reports = again.round()
        assert _events(ws) == [(FIRING, "page")]  # not a second time
        (alert,) = again.firing(reports)
        assert alert.since == fired_at

        agent.up = False  # cannot evaluate: the alert stays
        (report,) = again.round()
        assert "does not answer" in (report.error or "")
        assert _events(ws) == [(FIRING, "page")]

        agent.up, agent.bad = True, 0
        clock.advance(30)
        again.round()
        assert _events(ws) == [(FIRING, "page"), (RESOLVED, "page")]
        (resolved,) = ws.store.events.list(RESOLVED)
        assert resolved.data["lasted_seconds"] == 60.0
        assert again.since() == {}
