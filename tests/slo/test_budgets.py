from datetime import timedelta

import pytest

from roost.slo import (
    DEFAULT_TIERS,
    Counts,
    TierError,
    budget_remaining,
    burn_rate,
    error_budget,
    time_to_exhaustion,
    workbook_tier,
)


def test_error_budget_is_the_complement_of_the_objective() -> None:
    assert error_budget(99.9) == pytest.approx(0.001)
    for bad in (100, 100.5, 0, -1):
        with pytest.raises(ValueError, match="above 0 and below 100"):
            error_budget(bad)


def test_burn_rate_and_budget_remaining() -> None:
    counts = Counts(good=9_990, total=10_000)
    assert burn_rate(counts, budget=0.001) == pytest.approx(1.0)
    assert budget_remaining(counts, budget=0.001) == pytest.approx(0.0)
    assert budget_remaining(Counts(9_995, 10_000), budget=0.001) == pytest.approx(0.5)
    assert burn_rate(Counts(0, 0), budget=0.001) is None


def test_time_to_exhaustion() -> None:
    day30 = timedelta(days=30)
    # Half the budget left, burning at 14.4x: 0.5 * 30 d / 14.4 = 25 h.
    assert time_to_exhaustion(0.5, 14.4, slo_window=day30) == timedelta(hours=25)
    assert time_to_exhaustion(-0.1, 2.0, slo_window=day30) == timedelta(0)
    assert time_to_exhaustion(0.5, 0.0, slo_window=day30) is None
    assert time_to_exhaustion(None, 1.0, slo_window=day30) is None


def test_default_tiers_are_the_workbooks_for_30_days_and_scale() -> None:
    day30, day28 = timedelta(days=30), timedelta(days=28)
    assert [round(t.threshold(day30), 6) for t in DEFAULT_TIERS] == [14.4, 6.0, 1.0]
    assert [(t.long, t.short) for t in DEFAULT_TIERS] == [
        (timedelta(hours=1), timedelta(minutes=5)),
        (timedelta(hours=6), timedelta(minutes=30)),
        (timedelta(days=3), timedelta(hours=6)),
    ]
    # Same share of the budget per long window, so fewer days means a lower threshold.
    assert DEFAULT_TIERS[0].threshold(day28) == pytest.approx(13.44)
    with pytest.raises(TierError, match="shorter than the ticket tier's long alert window 3d"):
        DEFAULT_TIERS[2].threshold(timedelta(days=1))


def test_workbook_tier_round_trips_its_burn_rate() -> None:
    tier = workbook_tier(
        "fast", "page", burn=14.4, long=timedelta(hours=1), short=timedelta(minutes=5)
    )
    assert tier.budget_spent == pytest.approx(0.02)
    with pytest.raises(TierError):
        workbook_tier("bad", "page", burn=1, long=timedelta(minutes=5), short=timedelta(hours=1))
