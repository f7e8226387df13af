from datetime import timedelta

import pytest
from tests.rollout._fakes import T0

from roost.rollout import (
    WarmupPhase,
    WarmupProgress,
    effective_weight,
    next_ramp_change,
    warmup_status,
)
from roost.spec import Warmup

S = timedelta(seconds=1)


def test_nothing_before_the_startup_probe_passes() -> None:
    status = warmup_status(Warmup(), WarmupProgress(started_at=None), now=T0)
    assert status.phase is WarmupPhase.STARTING
    assert not status.ready


def test_without_warmup_the_startup_probe_is_enough() -> None:
    status = warmup_status(None, WarmupProgress(started_at=T0), now=T0)
    assert status.phase is WarmupPhase.WARM
    assert status.ready


def test_warm_after_a_round_of_requests_when_no_latency_bound() -> None:
    warmup = Warmup(requests=50)
    assert not warmup_status(warmup, WarmupProgress(T0, requests_sent=49), now=T0 + S).ready
    status = warmup_status(warmup, WarmupProgress(T0, requests_sent=50), now=T0 + S)
    assert status.phase is WarmupPhase.WARM
    assert status.reason == "warm after 50 requests"


def test_latency_bound_keeps_warming_until_p95_is_under_it() -> None:
    warmup = Warmup(requests=50, until_p95_below="200ms")
    cold = warmup_status(warmup, WarmupProgress(T0, 100, round_p95=0.9), now=T0 + 10 * S)
    assert cold.phase is WarmupPhase.WARMING
    assert cold.reason == "warming: p95 900ms ≥ 200ms"
    warm = warmup_status(warmup, WarmupProgress(T0, 150, round_p95=0.12), now=T0 + 20 * S)
    assert warm.phase is WarmupPhase.WARM
    assert "p95 120ms < 200ms" in warm.reason


@pytest.mark.parametrize(
    ("on_timeout", "phase", "ready"),
    [("fail", WarmupPhase.FAILED, False), ("proceed", WarmupPhase.COLD, True)],
)
def test_max_duration_fails_or_proceeds_cold_as_the_spec_says(
    on_timeout: str, phase: WarmupPhase, ready: bool
) -> None:
    warmup = Warmup.model_validate(
        {"until_p95_below": "200ms", "max_duration": "2m", "on_timeout": on_timeout}
    )
    progress = WarmupProgress(T0, 500, round_p95=0.9)
    before = warmup_status(warmup, progress, now=T0 + 119 * S)
    assert before.phase is WarmupPhase.WARMING
    after = warmup_status(warmup, progress, now=T0 + 120 * S)
    assert after.phase is phase
    assert after.ready is ready
    assert after.failed is (phase is WarmupPhase.FAILED)
    assert "not warm after 2m (p95 900ms ≥ 200ms)" in after.reason


def test_warm_at_the_deadline_counts_as_warm() -> None:
    warmup = Warmup.model_validate({"until_p95_below": "200ms", "max_duration": "2m"})
    status = warmup_status(warmup, WarmupProgress(T0, 50, round_p95=0.1), now=T0 + 600 * S)
    assert status.phase is WarmupPhase.WARM


def test_slow_start_ramps_linearly_from_zero_to_the_target() -> None:
    ramp = timedelta(seconds=100)

    def at(seconds: float, target: int = 50) -> int:
        return effective_weight(target, started_at=T0, now=T0 + seconds * S, slow_start=ramp)

    assert [at(s) for s in (0, 10, 50, 99, 100, 500)] == [0, 5, 25, 49, 50, 50]
    assert at(50, target=100) == 50  # a later, higher target continues the same ramp
    assert effective_weight(50, started_at=None, now=T0, slow_start=ramp) == 0
    assert effective_weight(50, started_at=T0, now=T0, slow_start=timedelta(0)) == 50
    assert effective_weight(0, started_at=T0, now=T0 + 50 * S, slow_start=ramp) == 0


def test_next_ramp_change_is_when_the_weight_grows_by_one() -> None:
    ramp = timedelta(seconds=100)
    when = next_ramp_change(50, started_at=T0, now=T0 + 10 * S, slow_start=ramp)
    assert when == T0 + 12 * S  # 5% at 10 s, 6% at 12 s
    assert effective_weight(50, started_at=T0, now=when, slow_start=ramp) == 6
    assert effective_weight(50, started_at=T0, now=when - S / 1000, slow_start=ramp) == 5
    assert next_ramp_change(50, started_at=T0, now=T0 + ramp, slow_start=ramp) is None
    assert next_ramp_change(50, started_at=None, now=T0, slow_start=ramp) is None
