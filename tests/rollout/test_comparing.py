from datetime import timedelta

import numpy as np
import pytest

from roost.rollout import Outcome, compare_error_ratio, compare_latency, rank_compare
from roost.spec import CompareToStable

SETTINGS = CompareToStable(min_effect_size=0.2, confidence=0.95)
WINDOW = timedelta(minutes=1)


def normal(ms: float, n: int, *, seed: int, spread: float = 10) -> list[float]:
    rng = np.random.default_rng(seed)
    return list((rng.normal(ms, spread, n) / 1000).clip(0.0001))


def test_a_clearly_slower_canary_fails_with_numbers_in_the_reason() -> None:
    result = compare_latency(
        normal(180, 300, seed=1),
        normal(120, 300, seed=2),
        settings=SETTINGS,
        min_samples=50,
        window=WINDOW,
    )
    assert result.outcome is Outcome.FAIL
    assert result.p_value is not None
    assert result.p_value < 0.001
    assert result.effect_size is not None
    assert result.effect_size > 0.9
    assert "worse than stable" in result.reason
    assert "median 179ms vs 119ms" in result.reason
    assert "effect 1.00 ≥ min 0.2" in result.reason
    assert "300 vs 300 samples" in result.reason


def test_a_tiny_but_significant_difference_is_not_a_regression() -> None:
    # 1 ms slower on 20 000 requests per side: p is tiny, the effect is not.
    canary = normal(101, 20_000, seed=3)
    stable = normal(100, 20_000, seed=4)
    raw = rank_compare(canary, stable)
    assert raw.p_value < 0.05  # "significant" — and it must still pass
    assert raw.effect_size < 0.1
    result = compare_latency(canary, stable, settings=SETTINGS, min_samples=50, window=WINDOW)
    assert result.outcome is Outcome.PASS
    assert "below the minimum 0.2" in result.reason
    assert "not a regression" in result.reason


def test_a_faster_canary_passes() -> None:
    result = compare_latency(
        normal(80, 200, seed=5),
        normal(120, 200, seed=6),
        settings=SETTINGS,
        min_samples=50,
        window=WINDOW,
    )
    assert result.outcome is Outcome.PASS
    assert result.effect_size is not None
    assert result.effect_size < 0
    assert "not worse" in result.reason


@pytest.mark.parametrize(("canary_n", "stable_n"), [(10, 500), (500, 10), (0, 0)])
def test_too_few_samples_on_either_side_is_inconclusive(canary_n: int, stable_n: int) -> None:
    result = compare_latency(
        normal(500, canary_n, seed=7) if canary_n else [],
        normal(100, stable_n, seed=8) if stable_n else [],
        settings=SETTINGS,
        min_samples=50,
        window=WINDOW,
    )
    assert result.outcome is Outcome.INCONCLUSIVE
    assert "too few latency samples over 1m" in result.reason
    assert "need 50 each" in result.reason


def test_identical_samples_pass_with_no_effect() -> None:
    same = [0.1] * 100
    comparison = rank_compare(same, same)
    assert comparison.p_value == 1.0
    assert comparison.effect_size == 0
    assert comparison.probability_worse == 0.5


def test_rank_compare_needs_samples() -> None:
    with pytest.raises(ValueError, match="both sides"):
        rank_compare([], [1.0])


def test_error_ratio_effect_size_is_the_difference_in_ratios() -> None:
    settings = CompareToStable(metric="error_ratio", min_effect_size=0.05, confidence=0.95)
    worse = compare_error_ratio(
        (1000, 0.10), (1000, 0.01), settings=settings, min_samples=50, window=WINDOW
    )
    assert worse.outcome is Outcome.FAIL
    assert worse.effect_size == pytest.approx(0.09)
    assert "10% vs 1% errors" in worse.reason
    # 3 points worse: significant on this many requests, but under the 5-point minimum.
    slightly = compare_error_ratio(
        (5000, 0.04), (5000, 0.01), settings=settings, min_samples=50, window=WINDOW
    )
    assert slightly.p_value is not None
    assert slightly.p_value < 0.05
    assert slightly.outcome is Outcome.PASS


def test_error_ratio_without_data_is_inconclusive() -> None:
    settings = CompareToStable(metric="error_ratio")
    result = compare_error_ratio(
        (0, None), (800, 0.0), settings=settings, min_samples=50, window=WINDOW
    )
    assert result.outcome is Outcome.INCONCLUSIVE
    assert "canary 0" in result.reason
