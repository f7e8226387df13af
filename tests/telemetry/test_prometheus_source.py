"""PrometheusSource against a real Prometheus scraping a real roost /metrics (an AdminServer
fed a known request mix); the SLO engine agrees with the embedded store on the same traffic.

Stated tolerance: SLIs (good shares) within 0.5 percentage points and burn rates within 5 %;
raw counts within 40 % (a short test window: up to about a scrape interval of
extrapolated traffic at each edge), because ``increase()`` extrapolates to the window's edges (see
roost.telemetry.prometheus_source)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tests.slo._servers import free_port, prometheus

from roost.slo import Engine, MetricsSliSource, SloTarget
from roost.spec.slos import Slo
from roost.telemetry import NO_RESPONSE, Recorder
from roost.telemetry.prometheus_source import (
    PrometheusError,
    PrometheusSource,
    bad_classes,
    selector,
)
from roost.traffic import AdminServer, EmbeddedRouter

RATIO = Slo.model_validate(
    {"name": "availability", "objective": 99, "window": "7d", "sli": {"kind": "ratio"}}
)
LATENCY = Slo.model_validate(
    {
        "name": "fast",
        "objective": 90,
        "window": "7d",
        "sli": {"kind": "latency", "threshold": "100ms"},
    }
)
# (revision, status, latency, per wave)
MIX = [
    ("v1", 200, 0.004, 40),
    ("v1", 503, 0.2, 2),
    ("v2", 200, 0.3, 20),
    ("v2", NO_RESPONSE, 0.004, 1),
]


def test_bad_status_maps_to_whole_classes() -> None:
    assert bad_classes("500-599") == ["5xx", "error"]
    assert bad_classes("400-599") == ["4xx", "5xx", "error"]
    with pytest.raises(ValueError, match="splits the 5xx class"):
        bad_classes("500-503")
    assert selector(service='we"b', code_class="~5xx|error") == (
        '{service="we\\"b",code_class=~"5xx|error"}'
    )


def test_prometheus_down_is_one_clear_error() -> None:
    source = PrometheusSource(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(PrometheusError, match=r"Prometheus at http://127.0.0.1:\d+ is unreachable"):
        source.sli_counts("web", RATIO.sli, window=timedelta(minutes=5))
    source.close()


@pytest.mark.slow
def test_prometheus_and_embedded_sources_agree(tmp_path) -> None:
    async def main() -> None:
        recorder = Recorder()
        # Counters that exist before the first scrape, so increase() counts everything after;
        # one whole wave, so that its extrapolation (limited at the counter's zero point, which
        # depends on the baseline) scales every series alike and ratios stay exact.
        for revision, status, latency, n in MIX:
            for _ in range(n):
                recorder.metrics.observe("web", revision, status, latency)
        admin = AdminServer(router=EmbeddedRouter(), recorder=recorder)
        port = await admin.start()
        try:
            with prometheus(tmp_path, targets=[f"127.0.0.1:{port}"]) as url:
                source = PrometheusSource(url)
                # Wait for the baseline scrape.
                for _ in range(100):
                    if await asyncio.to_thread(source.scalar, "sum(roost_requests_total)"):
                        break
                    await asyncio.sleep(0.2)
                else:
                    pytest.fail("Prometheus never scraped roost's /metrics")
                for _ in range(8):
                    for revision, status, latency, n in MIX:
                        for _ in range(n):
                            recorder.observe("web", revision, status, latency)
                    await asyncio.sleep(0.5)
                await asyncio.sleep(2.5)  # the last wave scraped, twice
                await asyncio.to_thread(_compare, recorder, source)
                # A PromQL error is Prometheus' own message, in one line.
                with pytest.raises(PrometheusError, match="bad_data"):
                    await asyncio.to_thread(source.query, "sum(rate(x[5m])")
                source.close()
        finally:
            await admin.stop()

    asyncio.run(main())


def _compare(recorder: Recorder, source: PrometheusSource) -> None:
    store = recorder.store
    embedded = MetricsSliSource(
        store, revisions=lambda svc: [r for s, r in store.series() if s == svc]
    )
    window = timedelta(minutes=5)
    for slo, expected in ((RATIO, 60 / 63), (LATENCY, 41 / 63)):
        good_e, total_e = embedded.sli_counts("web", slo.sli, window=window)
        good_p, total_p = source.sli_counts("web", slo.sli, window=window)
        assert total_e == 8 * 63
        assert total_p == pytest.approx(total_e, rel=0.4)
        assert good_e / total_e == pytest.approx(expected, abs=0.005)
        assert good_p / total_p == pytest.approx(good_e / total_e, abs=0.005)
    engine = Engine(min_events=1)
    now = datetime.now(UTC)
    for slo in (RATIO, LATENCY):
        a = engine.evaluate(SloTarget("web", slo), embedded, now=now)
        b = engine.evaluate(SloTarget("web", slo), source, now=now)
        assert a.error is None, a.error
        assert b.error is None, b.error
        for x, y in zip(a.burns, b.burns, strict=True):
            assert y.burn == pytest.approx(x.burn, rel=0.05), x.window
    # The MetricsSource answers, per revision.
    assert source.error_ratio("web", "v1", window=window) == pytest.approx(2 / 42, abs=0.005)
    assert source.latency_quantile("web", "v2", 0.5, window=window) == pytest.approx(
        0.375, abs=0.13
    )
    assert source.latency_samples("web", "v1", window=window) == []
