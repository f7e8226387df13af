"""The pipeline's decisions, as plain data: which steps start now, which must stop, and when
the build is over — given the step states, the time and whether someone asked to cancel.

Pure logic: the runner (:mod:`roost.build.running`) feeds it what happened and applies what it
decides, so every rule here is tested on a virtual clock without starting a process:

- a step starts when every step it needs ended ``succeeded`` or ``cached``;
- the first failure (or step timeout) stops the pipeline: nothing new starts, running steps
  are stopped (``cancelled``), steps that never started are ``skipped``;
- the build timeout stops everything (running steps end ``timed_out``);
- a cancel request stops everything (``cancelled``);
- the build succeeds when every step succeeded or was restored from the cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from roost.spec import format_duration

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
CACHED = "cached"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
SKIPPED = "skipped"
GOOD = frozenset({SUCCEEDED, CACHED})
DONE = frozenset({SUCCEEDED, CACHED, FAILED, TIMED_OUT, CANCELLED, SKIPPED})


@dataclass(frozen=True)
class Stop:
    """Stop a running step; it ends in ``state`` for ``reason``."""

    step: str
    state: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """What to do now. ``outcome`` is set once the build is over: (state, error or None)."""

    start: tuple[str, ...] = ()
    stop: tuple[Stop, ...] = ()
    outcome: tuple[str, str | None] | None = None


@dataclass
class Scheduler:
    """The state of one pipeline run. ``order`` is the steps as written (ties start in that
    order); ``needs`` maps each step to its prerequisites; timeouts are seconds (None: none)."""

    order: Sequence[str]
    needs: Mapping[str, Sequence[str]]
    step_timeouts: Mapping[str, float | None]
    build_timeout: float
    started_at: float
    states: dict[str, str] = field(default_factory=dict)
    step_started: dict[str, float] = field(default_factory=dict)
    _stopping: str | None = None  # why the pipeline is stopping: the build's error
    _final: str | None = None  # the build state once stopping

    def __post_init__(self) -> None:
        for name in self.order:
            self.states.setdefault(name, PENDING)

    def started(self, step: str, now: float) -> None:
        """The runner started ``step`` at ``now`` (monotonic seconds)."""
        self.states[step] = RUNNING
        self.step_started[step] = now

    def ended(self, step: str, state: str, *, reason: str | None = None) -> None:
        """``step`` ended in ``state`` (a cache hit ends a step that never ran)."""
        if state not in DONE:
            raise ValueError(f"{state!r} is not a final step state")
        self.states[step] = state
        if state in (FAILED, TIMED_OUT) and self._stopping is None:
            self._stopping = reason or f"step {step} {state.replace('_', ' ')}"
            self._final = FAILED

    def decide(self, now: float, *, cancel_requested: bool = False) -> Decision:
        """What to do at ``now``."""
        stops: list[Stop] = []
        if self._stopping is None:
            if cancel_requested:
                self._stopping, self._final = "cancelled on request", CANCELLED
            elif now - self.started_at >= self.build_timeout:
                took = _seconds(self.build_timeout)
                self._stopping, self._final = f"the build took longer than {took}", TIMED_OUT
        if self._stopping is None:
            for step in self._running():
                limit = self.step_timeouts.get(step)
                if limit is not None and now - self.step_started[step] >= limit:
                    reason = f"step {step} took longer than {_seconds(limit)}"
                    stops.append(Stop(step, TIMED_OUT, reason))
            if stops:
                first = stops[0]
                self._stopping, self._final = first.reason, FAILED
                stops += [
                    Stop(step, CANCELLED, first.reason)
                    for step in self._running()
                    if step not in {s.step for s in stops}
                ]
                return Decision(stop=tuple(stops))
            return self._progress()
        state = TIMED_OUT if self._final == TIMED_OUT else CANCELLED
        running = self._running()
        if running:
            return Decision(stop=tuple(Stop(step, state, self._stopping) for step in running))
        assert self._final is not None
        return Decision(outcome=(self._final, self._stopping))

    def _progress(self) -> Decision:
        ready = [
            step
            for step in self.order
            if self.states[step] == PENDING
            and all(self.states.get(need) in GOOD for need in self.needs.get(step, ()))
        ]
        if ready:
            return Decision(start=tuple(ready))
        if all(self.states[step] in GOOD for step in self.order):
            return Decision(outcome=(SUCCEEDED, None))
        if not self._running():  # pragma: no cover - the spec rejects loops and unknown needs
            return Decision(outcome=(FAILED, "the pipeline cannot make progress"))
        return Decision()

    def _running(self) -> list[str]:
        return [step for step in self.order if self.states[step] == RUNNING]

    @property
    def stopping(self) -> bool:
        """Whether the pipeline is winding down (no new step will start)."""
        return self._stopping is not None


def _seconds(value: float) -> str:
    return format_duration(timedelta(seconds=value))
