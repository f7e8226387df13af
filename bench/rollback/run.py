"""Benchmark: automatic rollback — how fast a bad canary loses its traffic, and how many
rollouts one control plane keeps up with.

    .venv/bin/python bench/rollback/run.py [--n 5] [--rps 40] [--sim 10,25,50,100]

Part 1 (real): ``N`` canaries with an injected fault (half their answers are 500s) and ``N``
healthy ones, all rolled out at once by one ``roost serve`` on the embedded runtime, under
real traffic (``--rps`` per service). Reported: detection (first faulty request → abort
decision), revert (decision → router confirmed 100% on stable) and fault → revert, as
p50/p95/max; false rollbacks among the healthy canaries; requests a canary answered after its
revert (must be 0). Baseline, same run: a weight change through the API by hand.
Targets (issue 4): revert ≤ 50 ms after the decision, fault → revert p50 ≤ 5 s, zero false
rollbacks in 50 healthy runs.

Part 2 (simulated runtime): ``--sim`` sizes of concurrent rollouts with 1-second analysis
driven by one executor with a SQLite state store; reported: how late analyses ran (p50/p95/
max). The control plane keeps up while the max stays under a second.

Not a test: it times things and prints tables; CI never runs it. Rollout settings are the
bench's (1 s analysis interval, one 25% step analysed for 5 s); everything else is default.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _real import RealResult
from _real import run as run_real
from _simulated import run as run_simulated


def _ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _stats(values: list[float]) -> tuple[str, str, str]:
    if not values:
        return ("—", "—", "—")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return tuple(_fmt(v) for v in (statistics.median(ordered), p95, ordered[-1]))  # type: ignore[return-value]


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _timeline_at(view: dict[str, Any], kind: str) -> datetime | None:
    return next((_ts(e["at"]) for e in view["timeline"] if e["kind"] == kind), None)


def report_real(result: RealResult, n: int) -> None:
    detection, revert, fault_to_revert, reported_detection = [], [], [], []
    missed = 0
    for view in result.faulty:
        abort = view.get("abort") or {}
        began = _timeline_at(view, "traffic_started")
        detected, reverted = _ts(abort.get("detected_at")), _ts(abort.get("traffic_reverted_at"))
        if view["state"] != "aborted" or detected is None or reverted is None or began is None:
            missed += 1
            continue
        detection.append((detected - began).total_seconds())
        revert.append((reverted - detected).total_seconds())
        fault_to_revert.append((reverted - began).total_seconds())
        window_start = _ts(abort.get("fault_began_at"))
        if window_start is not None:
            reported_detection.append((detected - window_start).total_seconds())
    false_rollbacks = sum(1 for view in result.healthy if view["state"] == "aborted")
    held = [
        view["state"] for view in result.healthy if view["state"] not in ("promoted", "aborted")
    ]
    rows = [
        ("detection: first faulty request → abort decision", *_stats(detection), ""),
        (
            "  (as the timeline reports it: failing window → decision)",
            *_stats(reported_detection),
            "",
        ),
        ("revert: decision → router confirmed stable 100%", *_stats(revert), "≤ 50 ms"),
        ("fault → revert", *_stats(fault_to_revert), "p50 ≤ 5 s"),
        ("baseline: a weight change through the API by hand", *_stats(result.baseline), ""),
    ]
    print(f"\nPart 1 — {n} faulty + {n} healthy canaries, one control plane, real traffic")
    width = max(len(r[0]) for r in rows)
    print(f"{'':<{width}}  {'p50':>9}  {'p95':>9}  {'max':>9}  target")
    for name, p50, p95, top, target in rows:
        print(f"{name:<{width}}  {p50:>9}  {p95:>9}  {top:>9}  {target}")
    print(f"faulty canaries rolled back:        {n - missed}/{n}")
    print(f"false rollbacks of healthy canaries: {false_rollbacks}/{n} (target: 0 in 50)")
    if held:
        print(f"healthy canaries not promoted:       {len(held)} ({', '.join(held)})")
    print(f"requests a canary answered after its revert: {result.late_requests} (must be 0)")
    print(f"requests sent: {result.requests}, unanswered: {result.unanswered}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="faulty and healthy canaries, each")
    parser.add_argument("--rps", type=float, default=40.0, help="requests/s per service")
    parser.add_argument("--sim", default="10,25,50,100", help="simulated rollout counts")
    parser.add_argument("--sim-seconds", type=float, default=10.0)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-sim", action="store_true")
    args = parser.parse_args()
    if not args.skip_real:
        report_real(run_real(args.n, rps=args.rps), args.n)
    if not args.skip_sim:
        print("\nPart 2 — concurrent rollouts with 1 s analysis, simulated runtime, SQLite store")
        print(f"{'rollouts':>8}  {'analyses':>8}  {'lag p50':>9}  {'lag p95':>9}  {'lag max':>9}")
        for count in (int(c) for c in args.sim.split(",") if c.strip()):
            row = run_simulated(count, seconds=args.sim_seconds)
            print(
                f"{row.rollouts:>8}  {row.analyses:>8}  {_fmt(row.lag_p50):>9}  "
                f"{_fmt(row.lag_p95):>9}  {_fmt(row.lag_max):>9}"
                + ("  <- lags by more than a second" if row.lag_max > 1 else "")
            )


if __name__ == "__main__":
    main()
