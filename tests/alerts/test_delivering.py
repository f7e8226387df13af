"""Delivery to a real local webhook receiver, and end to end through a real Alertmanager
(Debian prometheus-alertmanager)."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from tests.slo._servers import alertmanager, free_port

from roost.alerts import Alert, Route, Router
from roost.alerts.delivering import DeliveryError, forward, send


@contextmanager
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


ALERT = Alert(
    {
        "alertname": "RoostSloErrorBudgetBurn",
        "roost_service": "web",
        "roost_slo": "availability",
        "severity": "page",
        "tier": "page-fast",
    },
    {"summary": "web/availability is burning its error budget"},
)


def test_webhook_delivery_to_a_real_receiver() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with receiver() as (url, got), httpx.Client(trust_env=False, timeout=5) as client:
        router = Router(Route("hook", url, group_wait=timedelta(0)))
        router.observe([ALERT], now=now)
        for n in router.flush(now=now):
            send(n, client=client)
        assert got[0]["version"] == "4"
        assert got[0]["alerts"][0]["labels"]["tier"] == "page-fast"
        with pytest.raises(DeliveryError, match="is unreachable"):
            send(type(n)(f"http://127.0.0.1:{free_port()}/x", {}), client=client)


@pytest.mark.slow
def test_an_alert_reaches_a_real_alertmanager_and_comes_out_at_the_webhook(tmp_path) -> None:
    with (
        receiver() as (url, got),
        alertmanager(tmp_path, webhook=url) as am,
        httpx.Client(trust_env=False, timeout=5) as client,
    ):
        start = datetime.now(UTC)
        forward(
            [ALERT.__class__(ALERT.labels, ALERT.annotations, starts_at=start)],
            alertmanager=am,
            client=client,
        )
        _wait(lambda: any(p["status"] == "firing" for p in got))
        firing = next(p for p in got if p["status"] == "firing")
        assert firing["version"] == "4"
        assert firing["groupLabels"]["alertname"] == "RoostSloErrorBudgetBurn"
        assert firing["alerts"][0]["labels"]["roost_slo"] == "availability"
        # Resolve it: posted again with endsAt now.
        forward(
            [Alert(ALERT.labels, ALERT.annotations, starts_at=start, ends_at=datetime.now(UTC))],
            alertmanager=am,
            client=client,
        )
        _wait(lambda: any(p["status"] == "resolved" for p in got))
        with pytest.raises(DeliveryError, match="answered HTTP 400"):
            forward([Alert({})], alertmanager=am, client=client)


def _wait(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail("the webhook never received the expected notification")
