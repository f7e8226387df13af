"""The engine against the SRE Workbook's figures, on the embedded store and a virtual clock."""

from datetime import timedelta

import pytest
from tests.slo._fixtures import START, latency_slo, ratio_slo, run, store_source

from roost.clock.virtual import VirtualClock
from roost.slo import Engine, SloTarget, evaluate_all
from roost.spec.slos import Slo


def _clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.mark.slow
def test_full_outage_on_999_30d_pages_after_about_52_seconds_and_resolves() -> None:
    clock = _clock()
    store, source = store_source(clock)
    engine = Engine()
    target = SloTarget("web", ratio_slo(99.9, "30d"))
    # Seven hours of healthy traffic: more than the page tiers' longest window (6 h).
    run(store, clock, 7 * 3600, rps=2, status=200)
    assert not engine.evaluate(target, source, now=clock.now()).firing

    detected = None
    for second in range(1, 120):
        run(store, clock, 1, rps=2, status=503)
        report = engine.evaluate(target, source, now=clock.now())
        if report.paging:
            detected = second
            break
    # Workbook: 14.4 x 0.1 % x 3600 s = 51.84 s of a full outage inside the 1h window.
    assert detected is not None
    assert 51 <= detected <= 54, detected
    assert [t.tier.name for t in report.firing if t.tier.severity == "page"] == ["page-fast"]
    assert report.budget_remaining is not None
    assert report.budget_remaining < 1
    assert report.exhaustion is not None
    assert report.exhaustion < timedelta(days=30)

    # Recovery: the short window (5 m) lets the alert resolve ~5 minutes later, not an hour.
    resolved = None
    for second in range(1, 400):
        run(store, clock, 1, rps=2, status=200)
        if not engine.evaluate(target, source, now=clock.now()).paging:
            resolved = second
            break
    assert resolved is not None
    assert 240 <= resolved <= 305, resolved


def test_minimum_traffic_guard_keeps_two_requests_from_paging() -> None:
    clock = _clock()
    store, source = store_source(clock)
    store.add("web", "v1", 200, 0.01)
    store.add("web", "v1", 500, 0.01)
    report = Engine().evaluate(SloTarget("web", ratio_slo()), source, now=clock.now())
    assert not report.firing
    assert "too little traffic (2 < 50 events)" in report.tiers[0].reason
    assert report.budget_remaining == pytest.approx(1 - 0.5 / 0.001)
    # Configurable: with the guard lowered the same two requests page.
    assert (
        Engine(min_events=2).evaluate(SloTarget("web", ratio_slo()), source, now=clock.now()).paging
    )


def test_slo_sums_revisions_and_latency_counts_requests_under_the_bound() -> None:
    clock = _clock()
    store, source = store_source(clock)
    run(store, clock, 60, rps=3, status=200, revision="v1", latency=0.05)
    run(store, clock, 60, rps=1, status=200, revision="v2", latency=0.3)
    good, total = source.sli_counts("web", latency_slo("100ms").sli, window=timedelta(hours=1))
    assert total == 240
    assert good == pytest.approx(180, rel=0.01)
    report = Engine().evaluate(SloTarget("web", latency_slo("100ms")), source, now=clock.now())
    assert report.error is None
    assert report.burns[-1].counts.total == 240


def test_a_failing_slo_does_not_stop_the_others() -> None:
    class Broken:
        def sli_counts(self, service, sli, *, window):
            if service == "down":
                raise ConnectionError("Prometheus at http://127.0.0.1:1 is down")
            return (100.0, 100.0)

    # roost.yaml refuses this window (the default tiers do not fit in it); the engine must still
    # survive an SLO that was built without validation.
    valid = Slo.model_validate({"name": "short", "objective": 99, "sli": {"kind": "ratio"}})
    short = valid.model_copy(update={"window": timedelta(days=1)})
    reports = evaluate_all(
        [SloTarget("down", ratio_slo()), SloTarget("web", short), SloTarget("web", ratio_slo())],
        Broken(),
        now=START,
    )
    assert reports[0].error == "down/availability: Prometheus at http://127.0.0.1:1 is down"
    assert reports[1].error is not None
    assert "window 1d is shorter than the ticket tier's long alert window 3d" in reports[1].error
    assert reports[2].error is None
    assert reports[2].budget_remaining == pytest.approx(1.0)


def test_probe_slis_are_reported_as_unsupported_by_the_metrics_source() -> None:
    clock = _clock()
    _, source = store_source(clock)
    slo = Slo.model_validate(
        {"name": "probe", "objective": 99, "window": "7d", "sli": {"kind": "probe"}}
    )
    report = Engine().evaluate(SloTarget("web", slo), source, now=clock.now())
    assert report.error is not None
    assert "probe SLIs" in report.error
