"""The dispatcher runs exactly while the control plane leads, and follows roost.yaml: an apply
that adds or removes triggers rebuilds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roost.control.leadership.eventing import EventDuty
from roost.control.workspace import open_workspace
from roost.spec import parse_project
from roost.store import Fence

BASE = "project: p\nversion: 1\nenvironments:\n  dev: {}\n"
TRIGGER = """triggers:
  - name: builds
    filters: [{prefix: {type: dev.roost.build.}}]
    webhook: {url: "http://127.0.0.1:9/hook"}
"""


class Gate:
    """The two callbacks of the leadership gate, called by the test."""

    def __init__(self) -> None:
        self.started: list[Callable[[Fence], None]] = []
        self.stopped: list[Callable[[], None]] = []

    def on_started_leading(self, callback: Callable[[Fence], None]) -> None:
        self.started.append(callback)

    def on_stopped_leading(self, callback: Callable[[], None]) -> None:
        self.stopped.append(callback)


def _until(check: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_dispatcher_follows_leadership_and_roost_yaml(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(BASE + TRIGGER)
    with open_workspace(tmp_path) as ws:
        gate = Gate()
        duty = EventDuty(ws, gate, say=lambda _: None).start()  # type: ignore[arg-type]
        try:
            time.sleep(0.2)
            assert duty.dispatcher is None  # a follower leaves the bus alone
            for callback in gate.started:
                callback(Fence("leader", 1))
            _until(lambda: duty.dispatcher is not None)
            assert duty.dispatcher is not None
            assert list(duty.dispatcher.triggers) == ["builds"]
            ws.project = parse_project(BASE, filename="roost.yaml")  # an apply removed it
            duty._kick.set()
            _until(lambda: duty.dispatcher is None)
            ws.project = parse_project(BASE + TRIGGER, filename="roost.yaml")
            duty._kick.set()
            _until(lambda: duty.dispatcher is not None)
            for stopped in gate.stopped:
                stopped()
            _until(lambda: duty.dispatcher is None)
        finally:
            duty.stop()
