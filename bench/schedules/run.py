"""Benchmark: the leader's schedule loop with 10,000 schedules — the cost of one tick.

    .venv/bin/python bench/schedules/run.py [--schedules 10000] [--seconds 180]

10,000 schedules with mixed crons (every 5 minutes, hourly, nightly on weekdays, daily in a DST
gap, monthly) in five zones (Europe/London, America/New_York, Australia/Lord_Howe, Asia/Tokyo,
UTC), in a real SQLite state store, on a virtual clock. Actions are not run (their cost is the
action's, not the scheduler's): a claimed tick's work is dropped, its run record stays.

Rows (one tick = one call of ``ScheduleRunner.tick``, what ``roost serve``'s leader does every
second):

1. **first tick** — a new tenure: every schedule is planned from its newest run record (one
   query for all) and its next firing computed. Fresh runner each time.
2. **steady tick, nothing due** — the following ticks: a schedule whose next firing is still
   ahead costs a comparison.
3. **steady tick, with claims** — a tick at which schedules were due (00:05, when the 2,000
   every-5-minutes schedules fire): plan each, claim each due tick in the store (one write
   transaction each, unique key) and record its ``schedule.run`` event (hash-chained log and
   bus outbox).
4. **baseline: plan every schedule every tick** — what the loop would cost without the
   next-firing cache (``roost.schedules.plan`` + next firing for all 10,000, every tick).

p50/p99 over the ticks of each row. Not a test: CI never runs it; numbers depend on the
machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from roost.actions.scheduling import ScheduleRunner  # noqa: E402
from roost.clock import VirtualClock  # noqa: E402
from roost.control.wiring import wire  # noqa: E402
from roost.control.workspace import Workspace  # noqa: E402
from roost.schedules import fires, plan  # noqa: E402
from roost.spec import Project  # noqa: E402
from roost.store import open_store  # noqa: E402

CRONS = ["*/5 * * * *", "0 * * * *", "0 20 * * MON-FRI", "30 2 * * *", "15 9 1 * *"]
ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo", "UTC"]
START = datetime(2026, 3, 29, 0, 1, 30, tzinfo=UTC)  # London's spring-forward night


def project(count: int) -> Project:
    schedules: dict[str, Any] = {}
    for i in range(count):
        schedules[f"s{i:05d}"] = {
            "cron": CRONS[i % len(CRONS)],
            "timezone": ZONES[(i // len(CRONS)) % len(ZONES)],
            "dst": {"gap": "next-valid-minute" if i % 2 else "skip", "overlap": "once"},
            "missed": {"policy": ["none", "latest", "all"][i % 3]},
            "action": "stop-environment",
            "params": {"environment": "staging"},
        }
    return Project.model_validate(
        {
            "project": "bench",
            "version": 1,
            "environments": {"staging": {}},
            "services": [{"name": "web", "command": "true"}],
            "schedules": schedules,
        }
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=240, help="virtual seconds of steady ticks")
    args = parser.parse_args()
    built = time.perf_counter()
    spec = project(args.schedules)
    print(
        f"{args.schedules} schedules validated in {time.perf_counter() - built:.1f} s", flush=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "roost.yaml").write_text("# built in code\n")
        clock = VirtualClock(START)
        store = open_store(f"sqlite:///{root / 'state.db'}", clock=clock)
        ws = Workspace(
            root=root, project_file=root / "roost.yaml", project=spec, store=store, clock=clock
        )
        wiring = wire(ws)
        dropped = lambda work: None  # noqa: E731 - the action's cost is not the scheduler's

        first: list[float] = []
        for _ in range(5):
            runner = ScheduleRunner(wiring, identity="bench", spawn=dropped)
            t = time.perf_counter()
            runner.tick(None)
            first.append(time.perf_counter() - t)

        runner = ScheduleRunner(wiring, identity="bench", spawn=dropped)
        runner.tick(None)
        idle: list[float] = []
        busy: list[float] = []
        claimed = 0
        for _ in range(args.seconds):
            clock.advance(1)
            t = time.perf_counter()
            started = runner.tick(None)
            elapsed = time.perf_counter() - t
            (busy if started else idle).append(elapsed)
            claimed += len(started)

        baseline: list[float] = []
        last = store.schedule_runs.last_ticks()
        for _ in range(5):
            clock.advance(1)
            now = clock.now()
            t = time.perf_counter()
            for name, schedule in spec.schedules.items():
                plan(schedule, last=last.get(name), now=now)
                next(iter(fires(schedule.cron, schedule.timezone, schedule.dst, after=now)))
            baseline.append(time.perf_counter() - t)
        store.close()

    rows = [
        ("first tick (new tenure)", first),
        ("steady tick, nothing due", idle),
        (f"steady tick, with claims ({claimed} claimed)", busy),
        ("baseline: plan every schedule every tick", baseline),
    ]
    print(f"\n{args.schedules} schedules, one tick = ScheduleRunner.tick (SQLite store)\n")
    print(f"| {'row':<44} | ticks | p50 (ms) | p99 (ms) | mean (ms) |")
    print(f"|{'-' * 46}|-------|----------|----------|-----------|")
    for name, values in rows:
        if not values:
            continue
        print(
            f"| {name:<44} | {len(values):>5} | {pct(values, 0.5) * 1e3:>8.2f} | "
            f"{pct(values, 0.99) * 1e3:>8.2f} | {statistics.mean(values) * 1e3:>9.2f} |"
        )


if __name__ == "__main__":
    main()
