"""The SLO loop sends its alerts to roost.yaml's receivers: a real HTTP webhook receiver on
127.0.0.1 (grouping on the virtual clock, a receiver that goes down and comes back), and a real
Alertmanager whose own webhook gets what the control plane forwarded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.control._slos import Counts, slo_workspace
from tests.slo._servers import alertmanager, free_port

from roost.alerts import Alert, Silence
from roost.clock.virtual import VirtualClock
from roost.control.slos.notifying import DELIVERED, DELIVERY_FAILED, Notifier, shown_url
from roost.control.slos.watching import FIRING, RESOLVED, SloWatcher
from roost.control.workspace import Workspace
from roost.spec import Alerting, Receiver


@contextmanager
def receiver(port: int = 0) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body it is posted."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], got
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _types(ws: Workspace, prefix: str) -> list[str]:
    return [e.type for e in ws.store.events.list(prefix)][::-1]


def test_webhook_gets_firing_after_group_wait_then_resolved_and_survives_an_outage(
    tmp_path: Path,
) -> None:
    clock = VirtualClock(datetime(2025, 6, 1, tzinfo=UTC))
    agent = Counts()
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook/secret-token"
    alerting = (
        f"alerting:\n  receivers:\n    - {{name: pager, webhook: '{url}'}}\n"
        "  group_wait: 30s\n  group_interval: 1m\n"
    )
    with slo_workspace(tmp_path, clock, alerting) as ws:
        watcher = SloWatcher(ws, agent_dir=tmp_path, connect=agent.connect)
        with receiver(port) as (_, got):
            watcher.round()
            agent.bad = 500  # 50 % errors: burn 50 > 14.4 over both windows
            watcher.round()
            assert _types(ws, "dev.roost.slo.alert.") == [FIRING]
            assert got == []  # the group waits 30 s for more alerts

            clock.advance(30)
            watcher.round()
            (firing,) = got
            assert firing["version"] == "4"
            assert firing["status"] == "firing"
            assert firing["receiver"] == "pager"
            assert firing["groupLabels"] == {
                "alertname": "RoostSloErrorBudgetBurn",
                "roost_service": "web",
            }
            (alert,) = firing["alerts"]
            assert alert["status"] == "firing"
            assert alert["labels"]["roost_slo"] == "availability"
            assert alert["labels"]["tier"] == "page"
            assert alert["labels"]["severity"] == "page"
            assert alert["startsAt"] == "2025-06-01T00:00:00Z"  # when it fired, not when told

            clock.advance(10)
            watcher.round()  # still firing, nothing new: no repeat before repeat_interval
            assert len(got) == 1
            (status,) = watcher.receivers()
            assert status["last_delivered"] == "2025-06-01T00:00:30+00:00"
            assert status["failing_since"] is None

        # The receiver is down when the alert resolves.
        agent.bad = 0
        clock.advance(60)
        watcher.round()
        assert _types(ws, "dev.roost.slo.alert.") == [FIRING, RESOLVED]
        (failed,) = ws.store.events.list(DELIVERY_FAILED)
        assert failed.subject == "pager"
        assert failed.data["receiver"] == "pager"
        assert failed.data["alerts"] == ["web/availability/page"]
        assert "unreachable" in failed.data["error"]
        assert "secret-token" not in json.dumps(failed.data)  # webhook paths carry tokens
        assert failed.data["url"] == f"http://127.0.0.1:{port}/…"
        (status,) = watcher.receivers()
        assert status["failing_since"] == "2025-06-01T00:01:40+00:00"

        clock.advance(10)
        watcher.round()  # the same failure again is not a new event
        assert _types(ws, "dev.roost.alerts.") == [DELIVERY_FAILED]

        with receiver(port) as (_, got):  # back, on the same port
            clock.advance(10)
            watcher.round()
            (resolved,) = got
            assert resolved["status"] == "resolved"
            assert resolved["alerts"][0]["status"] == "resolved"
            assert resolved["alerts"][0]["labels"]["tier"] == "page"
            clock.advance(10)
            watcher.round()
            assert len(got) == 1
        assert _types(ws, "dev.roost.alerts.") == [DELIVERY_FAILED, DELIVERED]
        (delivered,) = ws.store.events.list(DELIVERED)
        assert delivered.data["delivered"] == 1
        assert delivered.data["failed_for_seconds"] == 20.0
        assert watcher.receivers()[0]["failing_since"] is None


def _alert(service: str, severity: str) -> Alert:
    labels = {
        "alertname": "RoostSloErrorBudgetBurn",
        "roost_service": service,
        "roost_slo": "availability",
        "severity": severity,
        "tier": f"{severity}-fast",
    }
    return Alert(labels, {"summary": "burning"})


def test_match_silences_and_send_resolved_false(tmp_path: Path) -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    events: list[tuple[str, str, dict[str, Any]]] = []
    with receiver() as (port, got):
        hook = f"http://127.0.0.1:{port}/hook"
        alerting = Alerting(
            receivers=[
                Receiver(name="pages", webhook=hook + "/pages", match={"severity": "page"}),
                Receiver(name="tickets", webhook=hook + "/tickets", match={"severity": "ticket"}),
            ],
            group_by=[],
            group_wait=timedelta(0),
            send_resolved=False,
        )
        notifier = Notifier(alerting, record=lambda *event: events.append(event))
        mute_api = Silence(
            "s1",
            {"roost_service": "api"},
            start,
            start + timedelta(hours=1),
            created_by="me",
            comment="known",
        )
        alerts = {"web": _alert("web", "page"), "api": _alert("api", "page")}
        notifier.round(alerts, silences=[mute_api], now=start)
        (pages,) = got  # tickets got nothing: no ticket fires
        assert pages["receiver"] == "pages"
        assert [a["labels"]["roost_service"] for a in pages["alerts"]] == ["web"]  # api muted

        later = start + timedelta(minutes=10)
        notifier.round({}, silences=[mute_api], now=later)  # web resolves: not told
        assert len(got) == 1
        assert events == []
        assert [s["receiver"] for s in notifier.status()] == ["pages", "tickets"]
        assert shown_url(hook + "?token=x") == f"http://127.0.0.1:{port}/…"


def test_an_alert_whose_slo_cannot_be_evaluated_is_not_resolved(tmp_path: Path) -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    with receiver() as (port, got):
        alerting = Alerting(
            receivers=[Receiver(name="hook", webhook=f"http://127.0.0.1:{port}/")],
            group_wait=timedelta(0),
            group_interval=timedelta(seconds=10),
        )
        notifier = Notifier(alerting, record=lambda *event: None)
        notifier.round({"web": _alert("web", "page")}, silences=[], now=start)
        # Next round the SLO's evaluation failed: no alert for it, but it still fires.
        notifier.round({}, firing=["web"], silences=[], now=start + timedelta(minutes=1))
        assert [p["status"] for p in got] == ["firing"]
        notifier.round({}, silences=[], now=start + timedelta(minutes=2))
        assert [p["status"] for p in got] == ["firing", "resolved"]


@pytest.mark.slow
def test_an_alert_forwarded_by_the_control_plane_comes_out_at_alertmanagers_webhook(
    tmp_path: Path,
) -> None:
    clock = VirtualClock(datetime.now(UTC))
    agent = Counts()
    with (
        receiver() as (port, got),
        alertmanager(tmp_path, webhook=f"http://127.0.0.1:{port}/am") as am,
    ):
        alerting = f"alerting:\n  receivers:\n    - {{name: central, alertmanager: '{am}'}}\n"
        with slo_workspace(tmp_path, clock, alerting) as ws:
            watcher = SloWatcher(ws, agent_dir=tmp_path, connect=agent.connect)
            agent.bad = 500
            watcher.round()
            _wait(lambda: any(p["status"] == "firing" for p in got))
            firing = next(p for p in got if p["status"] == "firing")
            assert firing["alerts"][0]["labels"]["roost_service"] == "web"
            assert firing["alerts"][0]["labels"]["tier"] == "page"

            agent.bad = 0  # (the virtual clock stays at real time: endsAt is now)
            watcher.round()  # posted once more with endsAt: Alertmanager resolves it now
            _wait(lambda: any(p["status"] == "resolved" for p in got))
            assert ws.store.events.list("dev.roost.alerts.") == []


def _wait(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail("the webhook never received the expected notification")
