"""Log-spaced buckets: quantiles within the promised relative error on known distributions."""

import math
import random

import pytest

from roost.telemetry.histograms import (
    MAX_INDEX,
    MIN_LATENCY,
    RELATIVE_ERROR,
    bucket_index,
    bucket_value,
    quantile,
)


def _exact(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


DISTRIBUTIONS = {
    "uniform 1-100ms": lambda r: r.uniform(0.001, 0.1),
    "exponential mean 30ms": lambda r: r.expovariate(1 / 0.03),
    "lognormal median 20ms": lambda r: r.lognormvariate(math.log(0.02), 0.8),
    "bimodal cache hit/miss": lambda r: (
        r.gauss(0.002, 0.0002) if r.random() < 0.9 else r.gauss(0.4, 0.05)
    ),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_quantiles_are_within_the_bound(name: str) -> None:
    rng = random.Random(11)
    # The bound holds above MIN_LATENCY (1 µs); no HTTP round trip is faster than that.
    xs = [max(1e-5, DISTRIBUTIONS[name](rng)) for _ in range(20_000)]
    hist: dict[int, int] = {}
    for x in xs:
        i = bucket_index(x)
        hist[i] = hist.get(i, 0) + 1
    for q in (0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
        exact = _exact(xs, q)
        got = quantile(hist, q)
        assert got is not None
        assert abs(got - exact) / exact <= RELATIVE_ERROR + 1e-9, (name, q, got, exact)


def test_bucket_edges() -> None:
    assert bucket_index(0.0) == 0
    assert bucket_index(MIN_LATENCY) == 0
    assert bucket_index(1e9) == MAX_INDEX
    assert MAX_INDEX < 2**16
    assert RELATIVE_ERROR < 0.02
    for x in (1e-5, 0.001, 0.0123, 0.5, 3.0, 42.0):
        assert abs(bucket_value(bucket_index(x)) - x) / x <= RELATIVE_ERROR + 1e-9


def test_empty_and_invalid() -> None:
    assert quantile({}, 0.5) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile({1: 1}, 1.5)
