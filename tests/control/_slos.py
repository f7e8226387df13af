"""The SLO loop's test bench: a project whose ``web`` has one availability SLO with a page tier,
and a stand-in for the agent's SLI counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roost.clock.virtual import VirtualClock
from roost.control.workspace import Workspace, open_workspace

HEAD = "project: w\nversion: 1\nenvironments:\n  dev: {}\n"
SLOS = """\
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
    """What the agent would answer: ``bad`` of ``total`` requests were 5xx in every window;
    while ``up`` is false the agent does not answer at all."""

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


def slo_workspace(tmp_path: Path, clock: VirtualClock, alerting: str = "") -> Workspace:
    """Write the project (with ``alerting:`` text, if any) to ``tmp_path`` and open it."""
    (tmp_path / "roost.yaml").write_text(HEAD + alerting + SLOS)
    return open_workspace(tmp_path, clock=clock)
