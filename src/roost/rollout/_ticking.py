"""The machinery one decision shares across strategies: a scratch pad for the next state and its
actions, verdict bookkeeping, pauses, weights and wake-up times.

Private: the public entry points are in :mod:`roost.rollout.stepping`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from roost.rollout import _formatting as fmt
from roost.rollout._serial import dump_time
from roost.rollout.decisions import (
    Action,
    Decision,
    PauseForHuman,
    Promote,
    RecordTimeline,
    ScaleDownAfter,
    SetWeights,
    Wait,
)
from roost.rollout.observations import HumanCommand, Observation
from roost.rollout.states import Pause, PauseKind, Phase, RolloutState, Strategy
from roost.rollout.verdicts import Outcome, Verdict
from roost.spec.analysis import Analysis
from roost.spec.rollouts import (
    AnalysisStep,
    BlueGreenRollout,
    CanaryRollout,
    CanaryStep,
)
from roost.spec.services import Service

DEFAULT_SCALE_DOWN_DELAY = timedelta(seconds=30)
"""Scale-down delay where the spec has none (direct rollouts): the spec's own default."""

READY_DEADLINE = timedelta(minutes=10)
"""How long a rollout waits for replicas to become ready and warm before it aborts, at least.

The spec has no progress deadline yet; without one, a revision stuck in a crash loop would hold
the (service, environment) rollout slot forever. Extended by the warm-up's ``max_duration``."""


@dataclass
class Tick:
    """One decision in the making: the state so far, the actions so far, when to wake up."""

    state: RolloutState
    service: Service
    observation: Observation
    now: datetime
    actions: list[Action] = field(default_factory=list)
    wakes: list[datetime] = field(default_factory=list)
    waiting: str = "waiting"

    def update(self, **changes: Any) -> None:
        """Replace fields of the next state."""
        self.state = replace(self.state, **changes)

    def act(self, *actions: Action) -> None:
        """Append actions in the order they must be applied."""
        self.actions.extend(actions)

    def note(self, entry: str, **detail: Any) -> None:
        """Append a timeline line."""
        self.actions.append(RecordTimeline(entry, detail))

    def wake_at(self, when: datetime | None, why: str | None = None) -> None:
        """Ask to be called again at ``when`` (ignored when ``None``); ``why`` explains the
        wait if nothing more pressing does."""
        if when is not None:
            self.wakes.append(when)
        if why is not None:
            self.waiting = why

    def decision(self) -> Decision:
        """The decision: the next state, the actions and (unless the rollout ended) a wait."""
        actions = list(self.actions)
        if not self.state.ended:
            future = [w for w in self.wakes if w > self.now]
            due = [w for w in self.wakes if w <= self.now]
            # A wake-up already due (an analysis whose verdict is not in yet) means "right away".
            until = self.now if due else min(future, default=None)
            actions.append(Wait(until, self.waiting))
        return Decision(self.state, tuple(actions))


def steps_of(state: RolloutState, service: Service) -> list[CanaryStep]:
    """The canary steps a rollout follows (none for blue-green and direct)."""
    if state.strategy is not Strategy.CANARY:
        return []
    return list(canary_spec(service).steps)


def canary_spec(service: Service) -> CanaryRollout:
    """The service's canary strategy; ``ValueError`` if the spec no longer has one."""
    if not isinstance(service.rollout, CanaryRollout):
        raise ValueError(f"service {service.name!r} has no canary rollout in this spec")
    return service.rollout


def blue_green_spec(service: Service) -> BlueGreenRollout:
    """The service's blue-green strategy; ``ValueError`` if the spec no longer has one."""
    if not isinstance(service.rollout, BlueGreenRollout):
        raise ValueError(f"service {service.name!r} has no blue-green rollout in this spec")
    return service.rollout


def analysis_in_effect(state: RolloutState, service: Service) -> tuple[Analysis | None, bool]:
    """The analysis to run now and whether it gates the current step.

    An analysis step gates with its own checks (or the service's) and keeps the service's
    comparison and limits; elsewhere the service's analysis runs in the background, where a
    failure streak still aborts but inconclusive results do not hold the rollout. A blue-green
    preview with ``auto_promote`` is gated by the service's analysis.
    """
    steps = steps_of(state, service)
    if 0 <= state.step < len(steps):
        step = steps[state.step]
        if isinstance(step, AnalysisStep):
            base = service.analysis
            checks = step.analysis.checks
            if base is None:
                # Validation of a loaded project rules out "no checks at all"; a spec built in
                # code may not have it, and then there is nothing to judge by.
                return (Analysis(checks=checks), True) if checks else (None, True)
            if checks is not None:
                return base.model_copy(update={"checks": checks}), True
            return base, True
    if state.strategy is Strategy.BLUE_GREEN and blue_green_spec(service).auto_promote:
        return service.analysis, service.analysis is not None
    return service.analysis, False


def take_verdict(tick: Tick, verdict: Verdict) -> bool:
    """Account for an analysis verdict; ``True`` when the failure limit is reached.

    A verdict is taken only when one is due and its window ends no earlier than that (a stale or
    replayed verdict after a crash is ignored, so it cannot count twice). Only a pass clears the
    failure streak: fail, no data, fail is two failures in a row with no evidence of health in
    between.
    """
    state = tick.state
    analysis, gating = analysis_in_effect(state, tick.service)
    due = state.next_analysis_at
    if analysis is None or due is None or verdict.window_end < due:
        return False
    if verdict.canary != state.canary or verdict.stable != state.stable:
        return False  # a verdict about other revisions (a previous rollout's, replayed)
    outcome = verdict.outcome
    failures = state.consecutive_failures + 1 if outcome is Outcome.FAIL else 0
    if outcome is Outcome.INCONCLUSIVE:
        failures = state.consecutive_failures
    inconclusive = state.consecutive_inconclusive + 1 if outcome is Outcome.INCONCLUSIVE else 0
    failing_since = state.failing_since
    if outcome is Outcome.PASS:
        failing_since = None
    elif outcome is Outcome.FAIL and failing_since is None:
        failing_since = verdict.window_start
    tick.update(
        analyses=state.analyses + 1,
        last_verdict=verdict,
        next_analysis_at=tick.now + analysis.interval,
        consecutive_failures=failures,
        consecutive_inconclusive=inconclusive,
        failing_since=failing_since,
        step_outcome=outcome if gating else state.step_outcome,
    )
    tick.note(
        "analysis",
        outcome=outcome.value,
        gating=gating,
        reasons=list(verdict.reasons),
        window_start=dump_time(verdict.window_start),
        window_end=dump_time(verdict.window_end),
        consecutive_failures=failures,
        consecutive_inconclusive=inconclusive,
    )
    if outcome is Outcome.FAIL and failures >= analysis.consecutive_failure_limit:
        return True
    if gating and outcome is not Outcome.PASS and tick.state.pause is None:
        deadline = tick.state.step_deadline
        if deadline is not None and tick.now >= deadline:
            tick.update(extensions=tick.state.extensions + 1)
            tick.note(
                "analysis_extended",
                extensions=tick.state.extensions,
                because=outcome.value,
            )
        if outcome is Outcome.INCONCLUSIVE and inconclusive >= analysis.inconclusive_limit:
            pause(
                tick,
                PauseKind.INCONCLUSIVE,
                f"analysis inconclusive {inconclusive} times in a row "
                f"({'; '.join(verdict.reasons)}): resume to keep analysing, promote to accept, "
                "abort to roll back",
            )
    return False


def pause(tick: Tick, kind: PauseKind, reason: str, by: str | None = None) -> None:
    """Hold for a human and say why."""
    tick.update(pause=Pause(kind, reason, tick.now, by))
    tick.act(PauseForHuman(reason))
    tick.note("paused", pause=kind.value, reason=reason, by=by)


def unpause(tick: Tick, by: str, how: str) -> None:
    """Clear a pause (the caller decides what else the command means)."""
    if tick.state.pause is not None:
        tick.note("resumed", pause=tick.state.pause.kind.value, by=by, how=how)
    tick.update(pause=None)


def weight_map(state: RolloutState, canary_weight: int) -> dict[str, int]:
    """The full weight map giving the new revision ``canary_weight`` percent and stable the
    rest (a first deploy has only the new revision)."""
    if state.stable is None:
        return {state.canary: 100 if canary_weight > 0 else 0}
    return {state.stable: 100 - canary_weight, state.canary: canary_weight}


def set_weight(tick: Tick, canary_weight: int) -> None:
    """Tell the router the new split, in one update, if it differs from the last one."""
    weights = weight_map(tick.state, canary_weight)
    if weights != tick.state.weights:
        tick.act(SetWeights(weights))
        tick.note("weights", weights=weights)
        tick.update(weights=weights)


def replicas_for(weight: int, replicas: int) -> int:
    """Replicas the new revision needs for ``weight`` percent of the traffic: proportional,
    rounded up, at least one; all of them at 100%."""
    if weight >= 100 or replicas <= 1:
        return replicas
    return max(1, math.ceil(replicas * weight / 100))


def ready_deadline(service: Service) -> timedelta:
    """How long to wait for replicas to be ready and warm before aborting."""
    warmup = service.warmup
    return READY_DEADLINE + (warmup.max_duration if warmup is not None else timedelta(0))


def scale_down_delay(state: RolloutState, service: Service) -> timedelta:
    """How long the replaced (or failed) revision keeps running after traffic left it."""
    if state.strategy is Strategy.CANARY:
        return canary_spec(service).abort_scale_down_delay
    if state.strategy is Strategy.BLUE_GREEN:
        return blue_green_spec(service).scale_down_delay
    return DEFAULT_SCALE_DOWN_DELAY


@dataclass(frozen=True, slots=True)
class Blocked:
    """Why the rollout cannot give the new revision more traffic yet; ``give_up`` once it has
    waited past the ready deadline (the rollout aborts with ``reason``)."""

    reason: str
    give_up: bool = False


def replica_gate(tick: Tick, need: int) -> Blocked | None:
    """``None`` when ``need`` replicas of the new revision are ready and warm."""
    warm = tick.observation.warm_replicas
    if warm >= need:
        if tick.state.waiting_since is not None:
            tick.update(waiting_since=None)
        return None
    since = tick.state.waiting_since
    if since is None:
        since = tick.now
        tick.update(waiting_since=since)
        tick.note("waiting_for_replicas", need=need, warm=warm)
    limit = ready_deadline(tick.service)
    if tick.now - since >= limit:
        return Blocked(
            f"new revision not ready: {warm}/{need} replicas ready and warm after "
            f"{fmt.span(limit)}",
            give_up=True,
        )
    tick.wake_at(since + limit)
    return Blocked(f"waiting for {need} warm replica(s) of {tick.state.canary} ({warm} so far)")


def finish_promoted(tick: Tick) -> None:
    """The new revision has all the traffic: end the rollout, scale the old one down later."""
    state = tick.state
    tick.note("promoted", revision=state.canary, weights=dict(state.weights))
    scale_down_at = None
    if state.stable is not None:
        delay = scale_down_delay(state, tick.service)
        scale_down_at = tick.now + delay
        tick.act(ScaleDownAfter(state.stable, delay, scale_down_at))
    tick.act(Promote(state.canary))
    tick.update(
        phase=Phase.PROMOTED,
        pause=None,
        next_analysis_at=None,
        waiting_since=None,
        scale_down=state.stable,
        scale_down_at=scale_down_at,
        ended_at=tick.now,
    )


def ignore(tick: Tick, command: HumanCommand, why: str) -> None:
    """A command that does not apply now: say so in the timeline instead of guessing."""
    tick.note("command_ignored", command=command.kind.value, by=command.by, why=why)


def said(command: HumanCommand, what: str) -> str:
    """``"paused by alice: checking logs"``."""
    return f"{what} by {command.by}" + (f": {command.reason}" if command.reason else "")
