"""DesiredState: roost.yaml validated completely, then applied, recorded and audited; a changed
file is noticed by polling; an invalid one changes nothing; a follower records nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from roost.control.operations.desired import DesiredState
from roost.control.workspace import Workspace, open_workspace
from roost.spec import SpecError
from roost.store import Fence

BASE = """\
project: p
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 -m http.server $PORT
"""
SLO = """\
    slos:
      - {name: availability, objective: 99, sli: {kind: ratio}}
"""


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "roost.yaml").write_text(BASE)
    with open_workspace(tmp_path, database_url=f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def _write(ws: Workspace, text: str) -> None:
    ws.project_file.write_text(text)
    # A later modification time even on file systems with coarse timestamps.
    stat = ws.project_file.stat()
    os.utime(ws.project_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _events(ws: Workspace) -> list[str | None]:
    return [e.actor for e in ws.store.events.list("dev.roost.project.applied", limit=100)]


def test_apply_swaps_the_project_records_it_and_audits_the_actor(ws: Workspace) -> None:
    first = DesiredState(ws).apply(actor="serve")
    assert [c.name for c in first.plan.changes] == ["p", "dev", "web"]
    _write(ws, BASE + SLO)
    applied = DesiredState(ws).apply(actor="alice")
    assert applied.plan.lines() == ["+ slo web/availability"]
    assert [s.name for s in ws.project.service("web").slos] == ["availability"]
    assert applied.record is not None
    assert ws.store.applied.latest() == applied.record
    assert applied.record.applied_by == "alice"
    assert _events(ws) == ["alice", "serve"]
    again = DesiredState(ws).apply(actor="bob")
    assert again.plan.empty
    assert _events(ws) == ["alice", "serve"]  # nothing new applied, nothing recorded


def test_an_invalid_file_is_refused_and_changes_nothing(ws: Workspace) -> None:
    desired = DesiredState(ws)
    desired.apply(actor="serve")
    before = ws.project
    _write(ws, BASE + SLO.replace("objective: 99", "objective: 0.99"))
    with pytest.raises(SpecError) as caught:
        desired.apply(actor="alice")
    assert (caught.value.problems[0].line, caught.value.problems[0].column) == (9, 41)
    assert ws.project is before
    assert ws.store.applied.latest().applied_by == "serve"  # type: ignore[union-attr]
    assert _events(ws) == ["serve"]


def test_poll_applies_a_changed_file_once_and_reports_an_invalid_one_once(
    ws: Workspace,
) -> None:
    said: list[str] = []
    desired = DesiredState(ws, say=said.append)
    assert desired.poll() is not None  # never read by this object: applied
    assert desired.poll() is None  # unchanged
    _write(ws, BASE + SLO)
    changed = desired.poll()
    assert changed is not None
    assert changed.plan.lines() == ["+ slo web/availability"]
    assert "+ slo web/availability" in said[-1]
    _write(ws, BASE + "  - oops\n")
    assert desired.poll() is None
    assert desired.poll() is None
    assert sum("invalid" in line for line in said) == 1
    assert [s.name for s in ws.project.service("web").slos] == ["availability"]
    assert _events(ws)[0] == "roost serve (roost.yaml changed)"


@dataclass
class _Follower:
    leading: bool = False

    @property
    def fence(self) -> Fence:
        raise AssertionError("a follower has no fence")


def test_a_follower_swaps_what_it_serves_but_records_nothing(ws: Workspace) -> None:
    _write(ws, BASE + SLO)
    applied = DesiredState(ws, leadership=_Follower()).apply(actor="serve")
    assert applied.record is None
    assert [s.name for s in ws.project.service("web").slos] == ["availability"]
    assert ws.store.applied.latest() is None
    assert _events(ws) == []


def test_a_restarted_control_plane_plans_against_what_was_applied(ws: Workspace) -> None:
    DesiredState(ws).apply(actor="serve")
    _write(ws, BASE.replace("dev: {}", "dev: {}\n  prod: {}"))
    restarted = DesiredState(ws).apply(actor="serve")
    assert restarted.plan.lines() == ["+ environment prod"]
