import json
from collections.abc import Mapping
from datetime import timedelta

from tests.rollout._fakes import T0, FakeMetrics

from roost.rollout import AnalysisRequest, Outcome, Verdict, analyse
from roost.spec import Analysis

MINUTE = timedelta(minutes=1)


def request(analysis: Mapping[str, object], *, stable: str | None = "v1") -> AnalysisRequest:
    return AnalysisRequest(
        service="shop",
        canary="v2",
        stable=stable,
        analysis=Analysis.model_validate(analysis),
        window=MINUTE,
    )


def test_error_ratio_over_the_maximum_fails_with_a_readable_reason() -> None:
    metrics = FakeMetrics()
    metrics.serve("v2", [0.1] * 412, errors=17)  # 4.13%
    verdict = analyse(
        metrics, request({"checks": [{"metric": "error_ratio", "max": 0.01}]}), now=T0
    )
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reasons == ("error ratio 4.13% > max 1% over 1m (412 requests)",)
    assert verdict.window_start == T0 - MINUTE
    assert verdict.window_end == T0
    (check,) = verdict.checks
    assert check.name == "error_ratio max 1%"
    assert check.observed is not None
    assert round(check.observed, 4) == 0.0413
    assert check.limit == 0.01
    assert check.samples == 412


def test_too_few_requests_for_a_threshold_is_inconclusive_not_pass_or_fail() -> None:
    metrics = FakeMetrics()
    metrics.serve("v2", [5.0] * 12, errors=12)  # terrible, but only 12 requests
    verdict = analyse(
        metrics,
        request(
            {
                "checks": [
                    {"metric": "error_ratio", "max": 0.01},
                    {"metric": "latency_p99", "max": "1s"},
                ],
                "min_samples": 50,
            }
        ),
        now=T0,
    )
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert all(c.outcome is Outcome.INCONCLUSIVE for c in verdict.checks)
    assert "too few requests for error ratio: 12 over 1m, need 50" in verdict.reasons


def test_latency_quantiles_and_both_bounds() -> None:
    metrics = FakeMetrics()
    metrics.serve("v2", [0.05] * 90 + [0.5] * 10)
    verdict = analyse(
        metrics,
        request(
            {
                "checks": [
                    {"metric": "latency_p50", "min": "10ms", "max": "100ms"},
                    {"metric": "latency_p99", "max": "300ms"},
                ]
            }
        ),
        now=T0,
    )
    assert verdict.outcome is Outcome.FAIL
    p50, p99 = verdict.checks
    assert p50.outcome is Outcome.PASS
    assert p50.reason == "p50 latency 50ms ≤ max 100ms and ≥ min 10ms over 1m (100 requests)"
    assert p99.outcome is Outcome.FAIL
    assert p99.reason.startswith("p99 latency 500ms > max 300ms")


def test_request_rate_floor() -> None:
    metrics = FakeMetrics()
    metrics.serve("v1", [0.1] * 600)
    metrics.serve("v2", [0.1] * 12)  # 0.2 req/s
    floor = {"checks": [{"metric": "request_rate", "min": 0.5}]}
    verdict = analyse(metrics, request(floor), now=T0)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reasons == ("request rate 0.2 req/s < min 0.5 req/s over 1m (12 requests)",)
    metrics.serve("v2", [0.1] * 60)
    assert analyse(metrics, request(floor), now=T0).outcome is Outcome.PASS


def test_no_traffic_anywhere_is_inconclusive_for_a_rate_floor() -> None:
    metrics = FakeMetrics()
    floor = {"checks": [{"metric": "request_rate", "min": 0.5}]}
    verdict = analyse(metrics, request(floor), now=T0)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "no traffic at all" in verdict.reasons[0]


def test_comparison_runs_with_thresholds_and_fails_a_slow_canary() -> None:
    metrics = FakeMetrics()
    metrics.healthy("v1", 400, ms=100)
    metrics.healthy("v2", 400, ms=160, seed=2)
    verdict = analyse(
        metrics,
        request(
            {
                "checks": [{"metric": "error_ratio", "max": 0.01}],
                "compare_to_stable": {"min_effect_size": 0.2},
            }
        ),
        now=T0,
    )
    assert verdict.outcome is Outcome.FAIL
    error_check, comparison = verdict.checks
    assert error_check.outcome is Outcome.PASS
    assert comparison.name == "compare latency"
    assert comparison.outcome is Outcome.FAIL
    assert verdict.summary().startswith("fail: canary latency worse than stable")


def test_comparison_without_a_stable_revision_is_inconclusive() -> None:
    metrics = FakeMetrics()
    metrics.healthy("v2")
    verdict = analyse(metrics, request({"compare_to_stable": {}}, stable=None), now=T0)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reasons == ("no stable revision to compare with",)


def test_a_failure_is_not_diluted_by_another_check_lacking_data() -> None:
    metrics = FakeMetrics()
    metrics.serve("v2", [0.1] * 100, errors=50)
    metrics.serve("v1", [0.1] * 10)
    verdict = analyse(
        metrics,
        request(
            {
                "checks": [{"metric": "error_ratio", "max": 0.01}],
                "compare_to_stable": {},
                "min_samples": 50,
            }
        ),
        now=T0,
    )
    assert [c.outcome for c in verdict.checks] == [Outcome.FAIL, Outcome.INCONCLUSIVE]
    assert verdict.outcome is Outcome.FAIL


def test_verdict_round_trips_through_json() -> None:
    metrics = FakeMetrics()
    metrics.healthy("v1")
    metrics.healthy("v2", seed=3)
    verdict = analyse(
        metrics,
        request({"checks": [{"metric": "error_ratio", "max": 0.01}], "compare_to_stable": {}}),
        now=T0,
    )
    again = Verdict.from_dict(json.loads(json.dumps(verdict.to_dict())))
    assert again == verdict
