"""bench/slo: evaluate 10,000 SLOs (90 % ratio, 10 % latency) x all tiers on the embedded
store holding a week of per-minute data; time and memory.

The store answers window counts from cumulative sums (``roost.telemetry.prefix``). Baselines in
the same run: the same engine over the store's plain ``MetricsSource`` methods (a walk over every
bucket of each window, latency by bisecting quantiles) — with the per-round query cache on the
SLOs of a few services, scaled up, and without it on a sample of SLOs, scaled up.

    .venv/bin/python bench/slo/run.py [--services 100] [--slos 10000]
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from roost.clock.virtual import VirtualClock
from roost.slo import Engine, MetricsSliSource, SloTarget, evaluate_all
from roost.spec.slos import Slo
from roost.telemetry import Tier, TimeSeriesStore

WEEK = 7 * 24 * 60


def build(services: int) -> tuple[TimeSeriesStore, VirtualClock]:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    clock = VirtualClock(start + timedelta(minutes=WEEK))
    store = TimeSeriesStore(clock=clock, tiers=[Tier(60, timedelta(days=7, minutes=1), 4)], seed=1)
    rng = random.Random(1)  # noqa: S311 - synthetic traffic
    t0 = start.timestamp()
    for s in range(services):
        for minute in range(WEEK):
            at = t0 + minute * 60
            store.add(f"svc{s}", "v1", 200, rng.uniform(0.005, 0.5), at=at)
            if rng.random() < 0.01:
                store.add(f"svc{s}", "v1", 503, 0.01, at=at + 1)
    return store, clock


def targets(services: int, count: int) -> list[SloTarget]:
    out = []
    thresholds = ["50ms", "100ms", "250ms", "400ms", "1s"]
    for i in range(count):
        s = i % services
        n = i // services
        sli: dict[str, object] = (
            {"kind": "ratio"}
            if n % 10 != 0
            else {"kind": "latency", "threshold": thresholds[n % len(thresholds)]}
        )
        slo = Slo.model_validate(
            {"name": f"slo{n}", "objective": 90 + (n % 99) / 10, "window": "7d", "sli": sli}
        )
        out.append(SloTarget(f"svc{s}", slo))
    return out


class BucketWalk:
    """The store behind its ``MetricsSource`` methods only: the path before cumulative counts."""

    def __init__(self, store: TimeSeriesStore) -> None:
        self.request_rate = store.request_rate
        self.request_count = store.request_count
        self.error_ratio = store.error_ratio
        self.latency_quantile = store.latency_quantile
        self.latency_samples = store.latency_samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--baseline-services", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=50)
    args = parser.parse_args()
    t = time.perf_counter()
    store, clock = build(args.services)
    build_s = time.perf_counter() - t
    source = MetricsSliSource(store, revisions=lambda svc: ["v1"])
    slos = targets(args.services, args.slos)
    engine = Engine()
    t = time.perf_counter()
    reports = evaluate_all(slos, source, now=clock.now(), engine=engine)
    cached_s = time.perf_counter() - t
    t = time.perf_counter()
    again = evaluate_all(slos, source, now=clock.now(), engine=engine)
    second_s = time.perf_counter() - t
    # Memory of a round, traced separately: tracing slows every allocation down.
    tracemalloc.start()
    evaluate_all(slos, source, now=clock.now(), engine=engine)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert all(r.error is None for r in reports), [r.error for r in reports if r.error][:3]

    # Baselines: the bucket walk, on part of the SLOs, scaled up to all of them.
    walk = MetricsSliSource(BucketWalk(store), revisions=lambda svc: ["v1"])
    some = {f"svc{s}" for s in range(args.baseline_services)}
    part = [target for target in slos if target.service in some]
    t = time.perf_counter()
    walked = evaluate_all(part, walk, now=clock.now(), engine=engine)
    walk_s = (time.perf_counter() - t) * len(slos) / len(part)
    sample = slos[: args.baseline_sample]
    t = time.perf_counter()
    for target in sample:
        engine.evaluate(target, walk, now=clock.now())
    uncached_s = (time.perf_counter() - t) * len(slos) / len(sample)
    # Same answers (latency within the histogram's resolution: bisection vs direct count).
    fast = {r.target.key: r for r in reports}
    worst = max(
        abs((fast[r.target.key].sli or 0) - (r.sli or 0)) for r in walked if r.sli is not None
    )
    assert [r.firing for r in again] == [r.firing for r in reports]
    firing = sum(1 for r in reports if r.firing)
    rows = [
        ("store: services x week of 1-min buckets", f"{args.services}", f"build {build_s:.1f} s"),
        (
            "store memory (estimate, with cumulative counts)",
            f"{store.memory_bytes() / 1e6:.1f} MB",
            "",
        ),
        (
            f"evaluate {len(slos)} SLOs x {len(engine.tiers)} tiers: cumulative counts, 1st round",
            f"{cached_s:.3f} s",
            "builds the lazy latency sums",
        ),
        (
            "  every later round (what `roost serve` does every 10 s)",
            f"{second_s:.3f} s",
            f"peak +{peak / 1e6:.1f} MB; target < 1 s",
        ),
        (
            f"baseline: bucket walk, query cache ({len(part)} SLOs measured, scaled)",
            f"{walk_s:.3f} s",
            f"x{walk_s / cached_s:.0f}",
        ),
        (
            f"baseline: bucket walk, no cache ({len(sample)} SLOs measured, scaled)",
            f"{uncached_s:.3f} s",
            f"x{uncached_s / cached_s:.0f}",
        ),
        ("largest SLI difference, cumulative vs walk", f"{worst:.2e}", "latency: 2 % buckets"),
        ("SLOs with a firing tier", f"{firing}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")


if __name__ == "__main__":
    main()
