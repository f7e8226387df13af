"""The pipeline's decisions on a virtual clock: parallel starts, failure, timeouts, cancel."""

from __future__ import annotations

import pytest

from roost.build.scheduling import (
    CACHED,
    CANCELLED,
    FAILED,
    SUCCEEDED,
    TIMED_OUT,
    Decision,
    Scheduler,
    Stop,
)
from roost.clock import VirtualClock


def _scheduler(
    clock: VirtualClock,
    needs: dict[str, tuple[str, ...]],
    *,
    step_timeouts: dict[str, float | None] | None = None,
    build_timeout: float = 3600,
) -> Scheduler:
    return Scheduler(
        order=list(needs),
        needs=needs,
        step_timeouts=step_timeouts or {},
        build_timeout=build_timeout,
        started_at=clock.monotonic(),
    )


def _start(scheduler: Scheduler, clock: VirtualClock) -> tuple[str, ...]:
    decision = scheduler.decide(clock.monotonic())
    for step in decision.start:
        scheduler.started(step, clock.monotonic())
    return decision.start


def test_independent_steps_start_together_and_joins_wait_for_all() -> None:
    clock = VirtualClock()
    scheduler = _scheduler(
        clock, {"deps": (), "lint": (), "test": ("deps",), "package": ("lint", "test")}
    )
    assert _start(scheduler, clock) == ("deps", "lint")
    assert scheduler.decide(clock.monotonic()) == Decision()  # both running: nothing to do
    clock.advance(5)
    scheduler.ended("deps", SUCCEEDED)
    assert _start(scheduler, clock) == ("test",)
    scheduler.ended("test", SUCCEEDED)
    assert _start(scheduler, clock) == ()  # package still waits for lint
    scheduler.ended("lint", CACHED)  # a cache hit counts as done
    assert _start(scheduler, clock) == ("package",)
    scheduler.ended("package", SUCCEEDED)
    assert scheduler.decide(clock.monotonic()).outcome == (SUCCEEDED, None)


def test_a_failure_stops_running_steps_and_starts_nothing_new() -> None:
    clock = VirtualClock()
    scheduler = _scheduler(clock, {"a": (), "b": (), "c": ("a",)})
    _start(scheduler, clock)
    scheduler.ended("a", FAILED, reason="step a failed: exit 1")
    decision = scheduler.decide(clock.monotonic())
    assert decision == Decision(stop=(Stop("b", CANCELLED, "step a failed: exit 1"),))
    scheduler.ended("b", CANCELLED)
    assert scheduler.decide(clock.monotonic()).outcome == (FAILED, "step a failed: exit 1")
    assert scheduler.states["c"] == "pending"  # the store settles it as skipped


def test_a_step_timeout_fails_the_build() -> None:
    clock = VirtualClock()
    scheduler = _scheduler(clock, {"slow": (), "other": ()}, step_timeouts={"slow": 30})
    _start(scheduler, clock)
    clock.advance(29.9)
    assert scheduler.decide(clock.monotonic()) == Decision()
    clock.advance(0.1)
    decision = scheduler.decide(clock.monotonic())
    reason = "step slow took longer than 30s"
    assert decision.stop == (Stop("slow", TIMED_OUT, reason), Stop("other", CANCELLED, reason))
    scheduler.ended("slow", TIMED_OUT, reason=reason)
    scheduler.ended("other", CANCELLED)
    assert scheduler.decide(clock.monotonic()).outcome == (FAILED, reason)


def test_the_build_timeout_stops_everything() -> None:
    clock = VirtualClock()
    scheduler = _scheduler(clock, {"a": (), "b": ("a",)}, build_timeout=600)
    _start(scheduler, clock)
    clock.advance(300)
    scheduler.ended("a", SUCCEEDED)
    _start(scheduler, clock)
    clock.advance(300)
    reason = "the build took longer than 10m"
    assert scheduler.decide(clock.monotonic()).stop == (Stop("b", TIMED_OUT, reason),)
    scheduler.ended("b", TIMED_OUT, reason=reason)
    assert scheduler.decide(clock.monotonic()).outcome == (TIMED_OUT, reason)


def test_a_cancel_request_stops_everything() -> None:
    clock = VirtualClock()
    scheduler = _scheduler(clock, {"a": (), "b": ("a",)})
    _start(scheduler, clock)
    decision = scheduler.decide(clock.monotonic(), cancel_requested=True)
    assert decision.stop == (Stop("a", CANCELLED, "cancelled on request"),)
    scheduler.ended("a", CANCELLED)
    # the request is remembered even if the flag is not seen again
    assert scheduler.decide(clock.monotonic()).outcome == (CANCELLED, "cancelled on request")
    assert scheduler.stopping


def test_an_empty_pipeline_succeeds_at_once() -> None:
    clock = VirtualClock()
    assert _scheduler(clock, {}).decide(0).outcome == (SUCCEEDED, None)


def test_ending_with_a_non_final_state_is_refused() -> None:
    scheduler = _scheduler(VirtualClock(), {"a": ()})
    with pytest.raises(ValueError, match="not a final step state"):
        scheduler.ended("a", "running")
