"""One wiring for the API and ``roost serve``: building starts nothing; start() starts the SLO
loop only for a plane with a lease; the fake agent reaches every part through ``connect``."""

from __future__ import annotations

import threading
from pathlib import Path

from roost.control.dataplane.fake import FakeAgent
from roost.control.wiring import wire
from roost.control.workspace import open_workspace
from roost.store import Fence

PROJECT = """\
project: wired
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 app.py
"""


class _Leader:
    leading = True
    fence = Fence("control-plane", 1)


def _slo_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "slos"]


def test_building_starts_nothing_and_start_runs_the_slo_loop_only_with_a_lease(
    tmp_path: Path,
) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    before = len(_slo_threads())
    with open_workspace(tmp_path) as ws:
        wired = wire(ws, leader=_Leader())
        assert len(_slo_threads()) == before
        assert ws.store.events.list() == []
        wired.start()
        try:
            assert len(_slo_threads()) == before + 1
        finally:
            wired.stop()
        unleased = wire(ws).start()
        assert len(_slo_threads()) == before  # without a lease, SLOs are evaluated on request
        unleased.stop()


def test_the_fake_agent_serves_the_plane_and_the_deployments(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "app.py").write_text("")
    agent = FakeAgent()
    with open_workspace(tmp_path) as ws:
        wired = wire(ws, connect=lambda: agent)
        up = wired.plane.up(actor="alice")
        assert up["started"] == ["web-r1"]
        assert agent.services["web"]["weights"] == {"web-r1": 100}
        view = wired.deployments.deploy("web", actor="alice")
        assert (view["from_release"], view["to_release"]) == ("web-r1", "web-r2")
        assert wired.deployments.stable("web", "dev") == "web-r1"  # the canary starts at weight 0
