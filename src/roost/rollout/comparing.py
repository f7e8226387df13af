"""Canary against stable: is the canary worse, and by enough to matter?

Two questions, both needed to call a regression:

* *Is it worse at all?* A one-sided Mann-Whitney U test ("the canary's values tend to be
  larger"). It is rank-based, so it needs no assumption about the shape of latency
  distributions (long-tailed, multi-modal) and one huge outlier cannot dominate it.
* *Is it worse by enough?* On a busy service every difference becomes "significant": 20 000
  samples make a 1 ms shift a p < 0.001 result. So the effect size must also reach
  ``min_effect_size``. The effect size is the rank-biserial correlation (equal to Cliff's
  delta): P(canary > stable) - P(canary < stable) over all pairs, from -1 to 1. It is what the
  spec's ``min_effect_size`` is defined as, and it comes straight from the U statistic.

Too few samples on either side is *inconclusive*: the test has no power there, and a pass would
be a silent pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from roost.rollout import _formatting as fmt
from roost.rollout.verdicts import CheckResult, Outcome
from roost.spec.analysis import CompareToStable


@dataclass(frozen=True, slots=True)
class RankComparison:
    """The Mann-Whitney U test of "canary larger than stable" and its effect size."""

    canary_n: int
    stable_n: int
    u: float
    p_value: float
    effect_size: float

    @property
    def probability_worse(self) -> float:
        """The common-language effect size: P(canary > stable), ties counting half."""
        return (self.effect_size + 1) / 2


def rank_compare(canary: Sequence[float], stable: Sequence[float]) -> RankComparison:
    """One-sided Mann-Whitney U test that ``canary`` tends to be larger than ``stable``.

    Both sides must be non-empty. Identical data (all ties) gives p = 1 and effect 0.
    """
    if not canary or not stable:
        raise ValueError("a rank comparison needs samples on both sides")
    # Imported here: scipy.stats takes seconds to import, and everything that imports
    # roost.rollout (the CLI included) would pay for it. scipy ships no type information and
    # scipy-stubs is not a dependency; "unused-ignore" keeps mypy quiet once it is.
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped, unused-ignore]

    result = mannwhitneyu(
        np.asarray(canary, dtype=float), np.asarray(stable, dtype=float), alternative="greater"
    )
    u = float(result.statistic)
    p_value = float(result.pvalue)
    if math.isnan(p_value):  # degenerate input; no evidence either way
        p_value = 1.0
    effect = 2 * u / (len(canary) * len(stable)) - 1
    return RankComparison(len(canary), len(stable), u, p_value, effect)


def _judge(
    name: str,
    comparison: RankComparison,
    settings: CompareToStable,
    *,
    what: str,
    detail: str,
) -> CheckResult:
    alpha = 1 - settings.confidence
    significant = comparison.p_value < alpha
    big_enough = comparison.effect_size >= settings.min_effect_size
    counts = f"{comparison.canary_n} vs {comparison.stable_n} samples"
    stats = f"p={comparison.p_value:.3g}, effect {comparison.effect_size:.2f}"
    if significant and big_enough:
        outcome = Outcome.FAIL
        reason = (
            f"canary {what} worse than stable ({detail}): effect "
            f"{comparison.effect_size:.2f} ≥ min {settings.min_effect_size:g}, "
            f"p={comparison.p_value:.3g} < {alpha:.3g} ({counts})"
        )
    elif significant:
        outcome = Outcome.PASS
        reason = (
            f"canary {what} differs from stable ({detail}) with {stats}, but the effect is "
            f"below the minimum {settings.min_effect_size:g}: not a regression ({counts})"
        )
    else:
        outcome = Outcome.PASS
        reason = f"canary {what} not worse than stable ({detail}; {stats}; {counts})"
    return CheckResult(
        name=name,
        outcome=outcome,
        reason=reason,
        samples=comparison.canary_n,
        stable_samples=comparison.stable_n,
        p_value=comparison.p_value,
        effect_size=comparison.effect_size,
    )


def _too_few(
    name: str, what: str, canary_n: int, stable_n: int, need: int, window: timedelta
) -> CheckResult | None:
    short = [f"{side} {n}" for side, n in (("canary", canary_n), ("stable", stable_n)) if n < need]
    if not short:
        return None
    return CheckResult(
        name=name,
        outcome=Outcome.INCONCLUSIVE,
        reason=f"too few {what} samples over {fmt.span(window)} to compare "
        f"({', '.join(short)}; need {need} each)",
        samples=canary_n,
        stable_samples=stable_n,
    )


def compare_latency(
    canary: Sequence[float],
    stable: Sequence[float],
    *,
    settings: CompareToStable,
    min_samples: int,
    window: timedelta,
) -> CheckResult:
    """Whether the canary's latencies (seconds) are worse than stable's, by enough to matter."""
    name = "compare latency"
    short = _too_few(name, "latency", len(canary), len(stable), min_samples, window)
    if short is not None:
        return short
    comparison = rank_compare(canary, stable)
    detail = (
        f"median {fmt.latency(float(np.median(canary)))} vs {fmt.latency(float(np.median(stable)))}"
    )
    return _judge(name, comparison, settings, what="latency", detail=detail)


def compare_error_ratio(
    canary: tuple[int, float | None],
    stable: tuple[int, float | None],
    *,
    settings: CompareToStable,
    min_samples: int,
    window: timedelta,
) -> CheckResult:
    """Whether the canary fails requests more often than stable, by enough to matter.

    Each side is ``(request count, error ratio)``. Every request is a 0/1 sample (failed or
    not), so the same rank test applies, and the rank-biserial effect size of 0/1 samples is
    exactly the difference of the two error ratios: ``min_effect_size: 0.05`` means "five
    percentage points worse".
    """
    name = "compare error_ratio"
    (canary_n, canary_ratio), (stable_n, stable_ratio) = canary, stable
    if canary_ratio is None:
        canary_n = 0
    if stable_ratio is None:
        stable_n = 0
    short = _too_few(name, "request", canary_n, stable_n, min_samples, window)
    if short is not None:
        return short
    assert canary_ratio is not None  # the count is 0 otherwise
    assert stable_ratio is not None
    comparison = rank_compare(_outcomes(canary_n, canary_ratio), _outcomes(stable_n, stable_ratio))
    detail = f"{fmt.percent(canary_ratio)} vs {fmt.percent(stable_ratio)} errors"
    return _judge(name, comparison, settings, what="error ratio", detail=detail)


def _outcomes(count: int, ratio: float) -> list[float]:
    errors = min(count, max(0, round(count * ratio)))
    return [1.0] * errors + [0.0] * (count - errors)
