"""The schedule runner on a virtual clock with the real store: DST transitions as the leader's
loop meets them, missed runs after downtime, concurrency, and exactly-once across a leader
failover (two runners sharing one store, the second taking over mid-schedule)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from roost._util import event_catalog as events
from roost.actions.scheduling import ScheduleRunner
from roost.clock import VirtualClock
from roost.control.dataplane.fake import FakeAgent
from roost.control.wiring import Wiring, wire
from roost.control.workspace import open_workspace
from roost.store import Fence, StaleFencingToken

HEAD = """\
project: timed
version: 1
environments:
  staging: {}
services:
  - name: web
    command: python3 app.py
schedules:
"""


def _inline(work: Callable[[], None]) -> None:
    work()


def _schedule(name: str, cron: str, zone: str, **extra: str) -> str:
    dst = extra.pop("dst", "{gap: skip, overlap: once}")
    lines = [
        f"  {name}:",
        f'    cron: "{cron}"',
        f"    timezone: {zone}",
        f"    dst: {dst}",
        "    action: stop-environment",
        "    params: {environment: staging}",
    ]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str, datetime], Iterator[tuple[Wiring, VirtualClock]]]:
    def opened(schedules: str, start: datetime) -> Iterator[tuple[Wiring, VirtualClock]]:
        (tmp_path / "roost.yaml").write_text(HEAD + schedules)
        clock = VirtualClock(start)
        agent = FakeAgent()
        agent.in_environment("staging").start_revision("{}", service="web", revision="web-r1")
        with open_workspace(tmp_path, clock=clock) as ws:
            yield wire(ws, connect=lambda: agent), clock

    return opened


def _drive(runner: ScheduleRunner, clock: VirtualClock, until: datetime, fence: Fence | None):
    while clock.now() < until:
        clock.advance(60)
        runner.tick(fence)


POLICIES = {
    "skip-once": "{gap: skip, overlap: once}",
    "skip-twice": "{gap: skip, overlap: twice}",
    "next-once": "{gap: next-valid-minute, overlap: once}",
    "next-twice": "{gap: next-valid-minute, overlap: twice}",
}
# zone, the gap's day and a cron inside it, the local time it moves to; the overlap's day, a
# cron inside it and the DST shift
ZONES = {
    "new_york": ("America/New_York", date(2026, 3, 8), "30 2", "03:00", date(2026, 11, 1), "30 1"),
    "london": ("Europe/London", date(2026, 3, 29), "30 1", "02:00", date(2026, 10, 25), "30 1"),
    "lord_howe": (
        "Australia/Lord_Howe",
        date(2026, 10, 4),
        "15 2",
        "02:30",
        date(2026, 4, 5),
        "45 1",
    ),
}


def _runs(w: Wiring, zone: str) -> dict[str, list[str]]:
    tz = ZoneInfo(zone)
    out: dict[str, list[str]] = {}
    for record in sorted(w.ws.store.schedule_runs.list(limit=1000), key=lambda r: r.scheduled_at):
        assert record.status == "succeeded", record
        local = record.scheduled_at.astimezone(tz)
        out.setdefault(record.schedule, []).append(local.strftime("%m-%d %H:%M%z"))
    return out


@pytest.mark.parametrize("place", ZONES)
def test_the_leaders_loop_through_a_dst_gap(place: str, project) -> None:  # type: ignore[no-untyped-def]
    zone, day, cron, moved, _, _ = ZONES[place]
    tz = ZoneInfo(zone)
    schedules = "".join(
        _schedule(name, f"{cron} * * *", zone, dst=dst) for name, dst in POLICIES.items()
    )
    start = datetime(day.year, day.month, day.day, tzinfo=tz) - timedelta(hours=12)
    for w, clock in project(schedules, start.astimezone(UTC)):
        runner = ScheduleRunner(w, identity="cp-1", spawn=_inline)
        _drive(runner, clock, start.astimezone(UTC) + timedelta(hours=48), None)
        runs = _runs(w, zone)
    minute, hour = cron.split()
    normal = f"{int(hour):02}:{minute}"
    for name in POLICIES:
        times = [t.split()[1][:5] for t in runs.get(name, [])]
        days = [t.split()[0] for t in runs.get(name, [])]
        if name.startswith("skip"):
            assert times == [normal], (name, runs)  # only the day after; the gap's is skipped
            assert days == [(day + timedelta(days=1)).strftime("%m-%d")]
        else:
            assert times == [moved, normal], (name, runs)
            assert days[0] == day.strftime("%m-%d")


@pytest.mark.parametrize("place", ZONES)
def test_the_leaders_loop_through_a_dst_overlap(place: str, project) -> None:  # type: ignore[no-untyped-def]
    zone, _, _, _, day, cron = ZONES[place]
    tz = ZoneInfo(zone)
    schedules = "".join(
        _schedule(name, f"{cron} * * *", zone, dst=dst) for name, dst in POLICIES.items()
    )
    start = datetime(day.year, day.month, day.day, tzinfo=tz) - timedelta(hours=6)
    for w, clock in project(schedules, start.astimezone(UTC)):
        runner = ScheduleRunner(w, identity="cp-1", spawn=_inline)
        _drive(runner, clock, start.astimezone(UTC) + timedelta(hours=24), None)
        runs = _runs(w, zone)
    for name in POLICIES:
        on_day = [t for t in runs[name] if t.startswith(day.strftime("%m-%d"))]
        assert len(on_day) == (2 if name.endswith("twice") else 1), (name, runs)
        assert len({t[:11] for t in on_day}) == 1  # the same wall time, different offsets


def test_missed_runs_after_downtime_for_each_policy(project) -> None:  # type: ignore[no-untyped-def]
    schedules = "".join(
        _schedule(f"hourly-{policy}", "0 * * * *", "Europe/London", missed=f"{{policy: {policy}}}")
        for policy in ("none", "latest", "all")
    )
    start = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    for w, clock in project(schedules, start):
        runner = ScheduleRunner(w, identity="cp-1", spawn=_inline)
        _drive(runner, clock, start + timedelta(hours=2), None)  # 01:00 and 02:00 run
        clock.advance(5 * 3600 + 20 * 60)  # down until 07:20: 03:00 .. 07:00 were due
        runner.take_office(None)
        runner.tick(None)
        rows = w.ws.store.schedule_runs.list(limit=100)
        missed = w.ws.store.events.list(events.SCHEDULE_MISSED)
        runs_events = w.ws.store.events.list(events.SCHEDULE_RUN)
        action_events = w.ws.store.events.list(events.ACTION)
        assert len(action_events) == len(runs_events) == 2 + 3 + 7  # none, latest, all
    by = {
        p: sorted((r.scheduled_at.hour, r.status) for r in rows if r.schedule == f"hourly-{p}")
        for p in ("none", "latest", "all")
    }
    ran = [(1, "succeeded"), (2, "succeeded")]
    assert by["none"] == [*ran, (7, "missed")]
    assert by["latest"] == [*ran, (7, "succeeded")]
    assert by["all"] == [*ran, *[(h, "succeeded") for h in range(3, 8)]]
    assert sorted(e.subject for e in missed) == ["hourly-latest", "hourly-none"]
    # What a tick's action recorded links back to the tick's schedule.run event.
    announced = {e.id: e for e in runs_events}
    for action in action_events:
        extensions = action.extensions or {}
        run_event = announced[extensions["causationid"]]
        assert run_event.data["tick"] == action.data["cause"]["tick"]
        assert extensions["causedby"] == action.actor == f"schedule:{run_event.subject}"
    assert {e.data["first"] for e in missed} == {"2026-06-01T03:00:00+00:00"}


def test_exactly_once_across_a_leader_failover(project) -> None:  # type: ignore[no-untyped-def]
    """cp-1 leads and runs a minutely schedule; it stalls (a long GC pause) and its lease
    expires; cp-2 takes over mid-schedule and catches up (policy all). cp-1 wakes up and tries
    to go on with its old fence: refused. Every tick ran exactly once, none was lost."""
    schedules = _schedule("minutely", "* * * * *", "Europe/London", missed="{policy: all}")
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    for w, clock in project(schedules, start):
        leases = w.ws.store.leases
        one = leases.try_acquire("control-plane", "cp-1", duration_seconds=15)
        assert one is not None
        first = ScheduleRunner(w, identity="cp-1", spawn=_inline)
        second = ScheduleRunner(w, identity="cp-2", spawn=_inline)
        first.take_office(one.fence())
        for _ in range(10):  # 12:01 .. 12:10, renewing the lease
            clock.advance(60)
            leases.try_acquire("control-plane", "cp-1", duration_seconds=90)
            first.tick(one.fence())
        clock.advance(150)  # cp-1 stalls; its lease expires at 12:11:30
        two = leases.try_acquire("control-plane", "cp-2", duration_seconds=90)
        assert two is not None
        assert two.fence().token > one.fence().token
        second.take_office(two.fence())
        # cp-1 wakes up at 12:12:30, still believing it leads: 12:11 and 12:12 look due to it.
        with pytest.raises(StaleFencingToken):
            first.tick(one.fence())
        second.tick(two.fence())  # catches up 12:11 and 12:12
        for _ in range(5):
            clock.advance(60)
            leases.try_acquire("control-plane", "cp-2", duration_seconds=90)
            second.tick(two.fence())
        rows = w.ws.store.schedule_runs.list("minutely", limit=1000)
        actions = w.ws.store.events.list(events.ACTION, limit=1000)
    ticks = Counter(r.scheduled_at for r in rows)
    expected = [start + timedelta(minutes=m) for m in range(1, 18)]
    assert sorted(ticks) == expected  # none lost
    assert set(ticks.values()) == {1}  # none twice
    assert {r.status for r in rows} == {"succeeded"}
    by_token = Counter(r.fencing_token for r in rows)
    assert by_token == {one.fence().token: 10, two.fence().token: 7}
    # And every tick's action ran once: one audit event per tick.
    assert sorted(e.data["cause"]["tick"] for e in actions) == [t.isoformat() for t in expected]


def test_a_run_left_running_by_the_old_leader_ends_interrupted(project) -> None:  # type: ignore[no-untyped-def]
    schedules = _schedule("hourly", "0 * * * *", "UTC")
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    for w, _ in project(schedules, start):
        one = w.ws.store.leases.try_acquire("control-plane", "cp-1", duration_seconds=15)
        assert one is not None
        w.ws.store.schedule_runs.claim("hourly", start, claimed_by="cp-1", fence=one.fence())
        w.ws.store.leases.release("control-plane", "cp-1")
        two = w.ws.store.leases.try_acquire("control-plane", "cp-2", duration_seconds=15)
        assert two is not None
        left = ScheduleRunner(w, identity="cp-2").take_office(two.fence())
        assert [r.schedule for r in left] == ["hourly"]
        (row,) = w.ws.store.schedule_runs.list()
    assert (row.status, row.detail) == ("interrupted", "cp-1 stopped leading mid-run")


def _job_schedules(concurrency: str) -> str:
    return (
        "  slow:\n"
        '    cron: "* * * * *"\n'
        "    timezone: UTC\n"
        "    dst: {gap: skip, overlap: once}\n"
        f"    concurrency: {concurrency}\n"
        "    action: job\n"
        '    params: {command: ["sleep", "30"]}\n'
    )


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.parametrize("concurrency", ["forbid", "replace", "allow"])
def test_concurrency_policies(concurrency: str, project) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
    for w, clock in project(_job_schedules(concurrency), start):
        runner = ScheduleRunner(w, identity="cp-1")
        clock.advance(40)  # 12:01:10
        assert len(runner.tick(None)) == 1
        _wait(lambda runs=w.ws.store.schedule_runs: bool(runs.running("slow")))
        clock.advance(60)  # 12:02:10: the first job still sleeps
        runner.tick(None)
        statuses = {r.scheduled_at.minute: r.status for r in w.ws.store.schedule_runs.list()}
        if concurrency == "forbid":
            assert statuses == {1: "running", 2: "skipped"}
        elif concurrency == "replace":
            assert statuses == {1: "replaced", 2: "running"}
        else:
            assert statuses == {1: "running", 2: "running"}
        # Shut down what still runs: cancelling is what replace does, so it kills the jobs.
        with runner._lock:
            for runs in runner._running.values():
                for run in runs:
                    run.context.cancel.set()
        assert runner.wait(20)
