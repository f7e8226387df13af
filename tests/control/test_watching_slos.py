"""The SLO loop's alert state lives in the events table: a restarted watcher does not fire an
alert twice, an SLO it cannot evaluate keeps its alert, and recovery resolves it. A real SQLite
store on a virtual clock; the agent's answers are a stand-in (counts are what this is about)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.control._slos import Counts, slo_workspace

from roost.clock.virtual import VirtualClock
from roost.control.slos.watching import FIRING, RESOLVED, SloWatcher
from roost.control.workspace import Workspace


def _events(ws: Workspace) -> list[tuple[str, str]]:
    return [(e.type, e.data["tier"]) for e in ws.store.events.list("dev.roost.slo.alert.")][::-1]


def test_alert_state_survives_a_restart_and_unknown_is_not_resolved(tmp_path: Path) -> None:
    clock = VirtualClock(datetime(2025, 6, 1, tzinfo=UTC))
    agent = Counts()
    with slo_workspace(tmp_path, clock) as ws:
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
