"""Synthetic probes against a real HTTP server on 127.0.0.1: what counts as good (status in
``expect_status``, answered within ``timeout``) and bad (another status, too slow, refused), and
the prober following roost.yaml — new paths, removed SLOs, services not running."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.agent.synthetic import (
    PROBE_USER_AGENT,
    ProbeTarget,
    SyntheticProber,
    probe_once,
    probe_targets,
    status_expected,
)
from roost.clock import RealClock
from roost.spec import parse_project
from roost.telemetry import TimeSeriesStore

PROJECT = """\
project: probes
version: 1
environments:
  dev: {{}}
services:
  - name: web
    command: python3 app.py
    slos:
{slos}
  - name: quiet
    command: python3 app.py
"""

PROBE_SLO = """\
      - name: {name}
        objective: 99
        window: 1h
        sli: {{kind: probe, path: {path}, interval: 100ms, timeout: 300ms{extra}}}
        alerts: [{{name: page, burn_rate: 14.4, long_window: 1m, short_window: 10s}}]
"""


def _project(*slos: str) -> str:
    return PROJECT.format(slos="".join(slos) or "      []\n")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    agents: list[str] = []  # noqa: RUF012 - shared with the test on purpose

    def do_GET(self) -> None:
        type(self).agents.append(self.headers.get("user-agent", ""))
        if self.path == "/slow":
            time.sleep(0.6)
        status = {"/fail": 500, "/created": 201, "/moved": 302}.get(self.path, 200)
        body = b"ok\n"
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        if status == 302:
            self.send_header("location", "/elsewhere")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    """A tiny HTTP server on an ephemeral port: /fail 500, /created 201, /moved 302, /slow
    takes 0.6 s, anything else 200."""
    _Handler.agents = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _refused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


def _run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(body())


async def _until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait for ``condition()`` (generous deadline: the machine may be busy)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _settled(read: Callable[[], Any], timeout: float = 30) -> Any:
    """``read()`` once two readings half a second apart agree (in-flight work has landed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    previous = read()
    while True:
        await asyncio.sleep(0.5)
        current = read()
        if current == previous:
            return current
        assert asyncio.get_running_loop().time() < deadline, "the counts never settled"
        previous = current


def test_status_ranges() -> None:
    assert status_expected(200, "200-399")
    assert status_expected(399, "200-399")
    assert not status_expected(400, "200-399")
    assert status_expected(204, "204")
    assert not status_expected(200, "204")


def test_good_and_bad_answers(server: int) -> None:
    base = f"http://127.0.0.1:{server}"

    async def main() -> None:
        clock = RealClock()
        async with httpx.AsyncClient(
            headers={"user-agent": PROBE_USER_AGENT}, trust_env=False
        ) as client:

            async def probe(path: str, expect: str = "200-399", timeout: float = 2.0) -> Any:
                return await probe_once(
                    client, base + path, timeout=timeout, expect_status=expect, clock=clock
                )

            ok = await probe("/")
            assert (ok.good, ok.status) == (True, 200)
            assert 0 <= ok.seconds < 2.0
            moved = await probe("/moved")  # redirects are answers, not followed
            assert (moved.good, moved.status) == (True, 302)
            failed = await probe("/fail")
            assert (failed.good, failed.status) == (False, 500)
            assert failed.reason == "500, expected 200-399"
            created = await probe("/created", expect="200")
            assert (created.good, created.status) == (False, 201)
            slow = await probe("/slow", timeout=0.2)
            assert (slow.good, slow.status, slow.seconds) == (False, None, 0.2)
            assert slow.reason == "no answer within 0.2s"
            refused = await probe_once(
                client,
                f"http://127.0.0.1:{_refused_port()}/",
                timeout=2.0,
                expect_status="200-399",
                clock=clock,
            )
            assert (refused.good, refused.status) == (False, None)
            assert refused.reason.startswith("ConnectError")

    _run(main)
    assert _Handler.agents
    assert all(a == PROBE_USER_AGENT for a in _Handler.agents)
    assert PROBE_USER_AGENT.startswith("roost-probe/")


def test_targets_are_one_per_service_and_path() -> None:
    project = parse_project(
        _project(
            PROBE_SLO.format(name="home", path="/", extra=""),
            PROBE_SLO.format(name="home-strict", path="/", extra=", expect_status: 200"),
            PROBE_SLO.format(name="api", path="/api", extra=""),
        ),
        filename="roost.yaml",
    )
    assert probe_targets(project) == [
        ProbeTarget("web", "/", 0.1, 0.3, "200-399"),
        ProbeTarget("web", "/api", 0.1, 0.3, "200-399"),
    ]


def test_the_prober_follows_the_project_and_counts_per_path(server: int, tmp_path: Path) -> None:
    project_file = tmp_path / "roost.yaml"
    project_file.write_text(
        _project(
            PROBE_SLO.format(name="home", path="/", extra=""),
            PROBE_SLO.format(name="broken", path="/fail", extra=""),
        )
    )
    serving = {"web": True}
    clock = RealClock()
    prober = SyntheticProber(
        project_file=project_file,
        store=TimeSeriesStore(clock=clock),
        clock=clock,
        host="127.0.0.1",
        # The service's listener is the test server; "quiet" has no listener.
        port_of=lambda service: server if service == "web" else None,
        serving=lambda service: serving.get(service, False),
    )
    minute = timedelta(minutes=1)

    def paths() -> dict[str, Any]:
        counts = prober.counts("web", window=minute)
        return {} if counts is None else dict(counts["paths"])

    def probed(path: str, at_least: int) -> bool:
        return paths().get(path, {}).get("total", 0) >= at_least

    async def main() -> None:
        prober.start()
        try:
            # Every 0.1 s: a few rounds of each path (waited for, however busy the machine).
            await _until(lambda: probed("/", 3) and probed("/fail", 3), "three rounds")
            counts = prober.counts("web", window=minute)
            assert counts is not None
            home, broken = counts["paths"]["/"], counts["paths"]["/fail"]
            assert home["good"] == home["total"]
            assert broken["good"] == 0
            assert counts["total"] == home["total"] + broken["total"]
            assert prober.counts("quiet", window=minute) is None
            assert "web/fail@" in repr(prober)

            # Not serving: no probes at all (neither good nor bad). Probes already in flight
            # may still land, so first wait until the counts settle, then watch them stay put
            # for ten probe periods.
            serving["web"] = False
            before = await _settled(lambda: prober.counts("web", window=minute))
            await asyncio.sleep(1.0)
            assert prober.counts("web", window=minute) == before
            serving["web"] = True

            # roost.yaml changes: /fail is no longer probed, /created (201, expect 201) is.
            project_file.write_text(
                _project(
                    PROBE_SLO.format(name="home", path="/", extra=""),
                    PROBE_SLO.format(name="made", path="/created", extra=", expect_status: 201"),
                )
            )
            prober.refresh()
            failed_before = await _settled(lambda: paths().get("/fail"))
            assert failed_before is not None
            await _until(lambda: probed("/created", 2), "two rounds of /created")
            after = paths()
            assert after["/fail"] == failed_before  # history stays, no new probes
            made = after["/created"]
            assert made["good"] == made["total"]
            assert "/fail@" not in repr(prober)
        finally:
            await prober.aclose()

    _run(main)
