"""A real Prometheus scraping a revision that has not served yet sees every status class at
zero, so ``increase()`` counts a class's very first request; the status is labelled ``code`` as
the conventions say (``code_class`` stays for existing rules)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.slo._servers import prometheus

from roost.telemetry import Recorder
from roost.telemetry.classes import CODE_CLASSES
from roost.traffic import AdminServer, EmbeddedRouter

DEADLINE = 60.0


def _query(client: httpx.Client, query: str) -> list[dict[str, object]]:
    r = client.get("/api/v1/query", params={"query": query})
    r.raise_for_status()
    result: list[dict[str, object]] = r.json()["data"]["result"]
    return result


def _values(client: httpx.Client, query: str) -> dict[str, float]:
    out = {}
    for item in _query(client, query):
        labels = item["metric"]
        assert isinstance(labels, dict)
        value = item["value"]
        assert isinstance(value, list)
        out[labels["code"]] = float(value[1])
    return out


def _wait(what: str, check: object) -> None:
    assert callable(check)
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"Prometheus never showed {what}"
        time.sleep(0.2)


def test_a_known_revision_is_exported_at_zero_before_its_first_request() -> None:
    recorder = Recorder()
    recorder.known("web", "v1")
    text = recorder.render_metrics().decode()
    for name in CODE_CLASSES:
        labels = f'code="{name}",code_class="{name}",revision="v1",service="web"'
        assert f"roost_requests_total{{{labels}}} 0.0" in text
    recorder.known("web", "v1")  # idempotent: never resets counts
    recorder.observe("web", "v1", 503, 0.01)
    recorder.known("web", "v1")
    assert 'code="5xx",code_class="5xx",revision="v1",service="web"} 1.0' in (
        recorder.render_metrics().decode()
    )


@pytest.mark.slow
def test_increase_sees_the_first_request_of_a_class(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.known("web", "v1")  # the agent does this when the revision starts
    # The admin server runs on a loop of its own thread; the test waits on Prometheus here.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    admin = AdminServer(router=EmbeddedRouter(), recorder=recorder)
    port = asyncio.run_coroutine_threadsafe(admin.start(), loop).result(timeout=30)
    try:
        with (
            prometheus(tmp_path, targets=[f"127.0.0.1:{port}"]) as url,
            httpx.Client(base_url=url, trust_env=False, timeout=5) as client,
        ):
            # Every class is there at zero before any request, labelled code and code_class.
            _wait(
                "the zero series",
                lambda: (
                    _values(client, 'roost_requests_total{revision="v1"}')
                    == dict.fromkeys(CODE_CLASSES, 0.0)
                ),
            )
            (one,) = _query(client, 'roost_requests_total{code="5xx"}')
            assert isinstance(one["metric"], dict)
            assert one["metric"]["code_class"] == "5xx"
            # Let a second zero sample land, so the first count is a step up from zero.
            _wait(
                "two zero samples",
                lambda: (
                    _values(client, 'count_over_time(roost_requests_total{code="5xx"}[1m])').get(
                        "5xx", 0
                    )
                    >= 2
                ),
            )
            # On the proxy's loop, as the proxy would.
            loop.call_soon_threadsafe(recorder.observe, "web", "v1", 503, 0.05)
            _wait(
                "the first 5xx",
                lambda: _values(client, 'roost_requests_total{code="5xx"}').get("5xx") == 1.0,
            )
            increase = _values(client, 'increase(roost_requests_total{code="5xx"}[1m])')
            # Without the zero sample the series would start at 1 and increase() would say 0.
            assert increase["5xx"] > 0.5
            assert _values(client, 'increase(roost_requests_total{code="2xx"}[1m])')["2xx"] == 0
    finally:
        asyncio.run_coroutine_threadsafe(admin.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
