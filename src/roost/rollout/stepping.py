"""The rollout state machine: (state, spec, observation, now) → decision.

One pure function, :func:`decide`, called by the executor whenever a ``Wait`` runs out or
something is observed (a verdict, a replica getting warm, a human command). It never reads the
clock or the world; the same inputs always give the same decision, which is what makes resuming
after a crash exact: load the persisted state, decide again.

Canary (and direct, which is a canary without steps):

* The new revision starts with as many replicas as the step's weight needs (at least one) while
  stable stays at full size, so an abort never waits for capacity.
* ``set_weight`` raises the weight only once enough replicas are ready *and warm*, then ramps it
  with slow start; the step is done when the weight is reached.
* ``pause: 5m`` holds; ``pause: {}`` waits for a human.
* ``analysis`` runs one verdict per ``interval``; it is done once its duration has passed *and*
  the latest verdict passed. Inconclusive verdicts extend it, and ``inconclusive_limit`` of them
  in a row pause for a human. ``consecutive_failure_limit`` failures in a row abort — during
  any step, since the service's analysis also runs in the background once the canary has
  traffic; one noisy failure does not.
* After the last step the new revision gets 100% and becomes stable; the old one is scaled down
  after a delay. A first deploy (no stable revision) goes straight to 100% after warm-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from roost.rollout._ticking import (
    Blocked,
    Tick,
    analysis_in_effect,
    finish_promoted,
    ignore,
    pause,
    replica_gate,
    replicas_for,
    said,
    set_weight,
    steps_of,
    take_verdict,
    unpause,
)
from roost.rollout.aborting import plan_abort
from roost.rollout.analysing import AnalysisRequest
from roost.rollout.decisions import (
    Action,
    Decision,
    RecordTimeline,
    ScaleCanary,
    ScaleDownAfter,
    SetWeights,
)
from roost.rollout.observations import CommandKind, HumanCommand, Observation
from roost.rollout.states import PauseKind, Phase, RolloutState, Strategy
from roost.rollout.switching import command_blue_green, progress_blue_green
from roost.rollout.verdicts import Outcome
from roost.rollout.warming import effective_weight, next_ramp_change
from roost.spec.rollouts import AnalysisStep, BlueGreenRollout, PauseStep
from roost.spec.services import Service


def choose_strategy(service: Service, *, stable: str | None, fast: bool = False) -> Strategy:
    """How a rollout of ``service`` moves traffic: direct for a first deploy (nothing to
    compare with or fall back to), a ``fast`` rollback or a service without a strategy;
    otherwise the service's canary or blue-green."""
    if stable is None or fast or service.rollout is None:
        return Strategy.DIRECT
    if isinstance(service.rollout, BlueGreenRollout):
        return Strategy.BLUE_GREEN
    return Strategy.CANARY


def start_rollout(
    service: Service,
    *,
    environment: str,
    canary: str,
    stable: str | None,
    now: datetime,
    fast: bool = False,
) -> Decision:
    """The first decision of a rollout of revision ``canary`` replacing ``stable`` (``None``: a
    first deploy) in ``environment``; ``fast``: straight to 100% (``roost rollback --fast``).

    Guardrails (approval, freeze windows, one rollout at a time) are checked before this, with
    :mod:`roost.rollout.guarding`.
    """
    strategy = choose_strategy(service, stable=stable, fast=fast)
    state = RolloutState(
        service=service.name,
        strategy=strategy,
        canary=canary,
        stable=stable,
        replicas=service.replicas_in(environment),
        started_at=now,
        step_started_at=now,
    )
    tick = Tick(state, service, Observation(), now)
    tick.note(
        "started",
        strategy=strategy.value,
        canary=canary,
        stable=stable,
        environment=environment,
        replicas=state.replicas,
        steps=len(steps_of(state, service)),
    )
    if stable is not None:
        set_weight(tick, 0)  # the router learns the new revision, with no traffic yet
    if strategy is not Strategy.BLUE_GREEN:
        _enter(tick, 0)
    return _finish(tick)


def decide(
    state: RolloutState,
    service: Service,
    observation: Observation | None = None,
    *,
    now: datetime,
) -> Decision:
    """The next decision for ``state`` given what was observed, at ``now``.

    Order of precedence: an abort command, a failure of the new revision, the failure limit
    of the analysis; then other commands; then the strategy moves on as far as it can.
    ``service`` is the spec the rollout was started with (the release's snapshot).
    """
    observation = observation or Observation()
    command = observation.command
    if state.ended:
        if command is None:
            return Decision(state)
        return Decision(
            state,
            (
                RecordTimeline(
                    "command_ignored",
                    {
                        "command": command.kind.value,
                        "by": command.by,
                        "why": f"the rollout has ended ({state.phase.value})",
                    },
                ),
            ),
        )
    if service.name != state.service:
        raise ValueError(f"spec of {service.name!r} given for a rollout of {state.service!r}")
    tick = Tick(state, service, observation, now)
    if command is not None and command.kind is CommandKind.ABORT:
        return _abort(tick, said(command, "aborted"), command.by)
    if observation.failure is not None:
        runtime = observation.failure_by == "runtime"
        prefix = "new revision failed: " if runtime else ""  # an SLO page says what it is
        return _abort(tick, prefix + observation.failure, observation.failure_by)
    verdict = observation.verdict
    if verdict is not None and take_verdict(tick, verdict):
        failures = tick.state.consecutive_failures
        reasons = "; ".join(verdict.reasons)
        return _abort(tick, f"analysis failed {failures} times in a row: {reasons}", "analysis")
    if command is not None:
        if state.strategy is Strategy.BLUE_GREEN:
            command_blue_green(tick, command)
        else:
            _command(tick, command)
    return _finish(tick)


def analysis_due(state: RolloutState, service: Service, *, now: datetime) -> AnalysisRequest | None:
    """What to analyse now, if a verdict is due: run it with
    :func:`~roost.rollout.analyse` and pass the verdict to :func:`decide`."""
    if state.ended or state.next_analysis_at is None or now < state.next_analysis_at:
        return None
    analysis, gating = analysis_in_effect(state, service)
    if analysis is None:
        return None
    return AnalysisRequest(
        service=state.service,
        canary=state.canary,
        stable=state.stable,
        analysis=analysis,
        window=analysis.interval,
        step=state.step if gating else None,
    )


def restore_actions(state: RolloutState, *, now: datetime) -> tuple[Action, ...]:
    """What to re-apply after the control plane restarts, so the router and runtime match the
    persisted state whatever point the previous process died at (all idempotent): the new
    revision's scale and the weights; for an ended rollout, the weights and the pending
    scale-down with the time it still has to wait."""
    actions: list[Action] = []
    if not state.ended and state.canary_replicas:
        actions.append(ScaleCanary(state.canary, state.canary_replicas))
    if state.weights:
        actions.append(SetWeights(dict(state.weights)))
    if state.ended and state.scale_down is not None and state.scale_down_at is not None:
        left = max(state.scale_down_at - now, timedelta(0))
        actions.append(ScaleDownAfter(state.scale_down, left, state.scale_down_at))
    return tuple(actions)


def _finish(tick: Tick) -> Decision:
    if tick.state.strategy is Strategy.BLUE_GREEN:
        give_up = progress_blue_green(tick)
    else:
        give_up = _progress(tick)
    if give_up is not None:
        return _abort(tick, give_up, "runtime")
    if not tick.state.ended:
        _schedule_analysis(tick)
    return tick.decision()


def _abort(tick: Tick, reason: str, by: str) -> Decision:
    notes = [action for action in tick.actions if isinstance(action, RecordTimeline)]
    return plan_abort(tick.state, tick.service, reason=reason, by=by, now=tick.now, notes=notes)


def _command(tick: Tick, command: HumanCommand) -> None:
    state = tick.state
    kind = command.kind
    last = len(steps_of(state, tick.service))
    if kind is CommandKind.PAUSE:
        if state.pause is not None:
            ignore(tick, command, "already paused")
        else:
            pause(tick, PauseKind.HUMAN, said(command, "paused"), command.by)
    elif kind is CommandKind.RESUME:
        if state.pause is None:
            ignore(tick, command, "not paused")
            return
        held = state.pause.kind
        unpause(tick, command.by, "resume")
        if held is PauseKind.HOLD:
            _enter(tick, state.step + 1)
        elif held is PauseKind.INCONCLUSIVE:
            tick.update(consecutive_inconclusive=0)  # keep analysing: a fresh allowance
    elif kind in (CommandKind.PROMOTE, CommandKind.PROMOTE_FULL):
        if state.step >= last:
            unpause(tick, command.by, "promote")
            ignore(tick, command, "already on the way to 100%")
            return
        unpause(tick, command.by, kind.value)
        tick.note("step_skipped", step=state.step, by=command.by, how=kind.value)
        _enter(tick, last if kind is CommandKind.PROMOTE_FULL else state.step + 1)


def _enter(tick: Tick, index: int) -> None:
    steps = steps_of(tick.state, tick.service)
    tick.update(
        step=index,
        step_started_at=tick.now,
        step_deadline=None,
        step_outcome=None,
        extensions=0,
    )
    if index >= len(steps):
        tick.update(target_weight=100)
        tick.note("step", index=index, step={"set_weight": 100}, final=True)
        return
    step = steps[index]
    tick.note("step", index=index, step=step.model_dump(mode="json", exclude_none=True))
    if isinstance(step, PauseStep):
        if step.pause is None:
            pause(tick, PauseKind.HOLD, f"step {index + 1} of {len(steps)} holds until promote")
        else:
            tick.update(step_deadline=tick.now + step.pause)
    elif isinstance(step, AnalysisStep):
        analysis, _ = analysis_in_effect(tick.state, tick.service)
        tick.update(step_deadline=tick.now + step.analysis.duration, consecutive_inconclusive=0)
        if analysis is None:
            pause(tick, PauseKind.INCONCLUSIVE, f"analysis step {index + 1} has no checks")
        else:
            # A fresh window: verdicts of this step only see traffic at this step's weight.
            tick.update(next_analysis_at=tick.now + analysis.interval)
    else:
        tick.update(target_weight=step.set_weight)


def _progress(tick: Tick) -> str | None:
    """Move a canary or direct rollout on as far as it can; an abort reason if it must."""
    steps = steps_of(tick.state, tick.service)
    for _ in range(len(steps) + 2):  # each pass enters a later step or returns
        state = tick.state
        if state.pause is not None:
            # A paused rollout holds its weight (analysis still runs and can still abort).
            tick.waiting = f"paused: {state.pause.reason}"
            return None
        blocked = _converge(tick)
        if blocked is not None and blocked.give_up:
            return blocked.reason
        if state.step >= len(steps):
            if blocked is None:
                finish_promoted(tick)
            else:
                tick.waiting = blocked.reason
            return None
        if not _step_done(tick, blocked):
            return None
        _enter(tick, state.step + 1)
    raise AssertionError("rollout steps did not settle")  # pragma: no cover


def _step_done(tick: Tick, blocked: Blocked | None) -> bool:
    """Whether the current (pause, analysis or set_weight) step is complete; if not, say why
    and when to look again."""
    state = tick.state
    step = steps_of(state, tick.service)[state.step]
    deadline = state.step_deadline
    if isinstance(step, PauseStep | AnalysisStep):
        assert deadline is not None  # an open-ended pause holds before this
        what = "pause step" if isinstance(step, PauseStep) else "analysing"
        if tick.now < deadline:
            tick.wake_at(deadline, f"{what} until {deadline.isoformat()}")
            return False
        if isinstance(step, AnalysisStep) and state.step_outcome is not Outcome.PASS:
            tick.waiting = "analysis extended: waiting for a passing verdict"
            return False
        return True
    if blocked is not None:
        tick.waiting = blocked.reason
        return False
    return True


def _converge(tick: Tick) -> Blocked | None:
    """Bring the new revision's replicas and weight towards the step's target weight."""
    state = tick.state
    target = state.target_weight
    need = replicas_for(max(target, 1), state.replicas)
    if need > state.canary_replicas:
        tick.act(ScaleCanary(state.canary, need))
        tick.update(canary_replicas=need)
    current = state.canary_weight
    if target < current:
        set_weight(tick, target)  # traffic off first, replicas after
        if need < tick.state.canary_replicas:
            tick.act(ScaleCanary(state.canary, need))
            tick.update(canary_replicas=need)
        return None
    if target == current:
        return None
    blocked = replica_gate(tick, need)
    if blocked is not None:
        return blocked
    started = tick.state.traffic_started_at
    if started is None:
        started = tick.now
        tick.update(traffic_started_at=started)
        tick.note("traffic_started", revision=state.canary)
    slow_start = tick.service.warmup.slow_start if tick.service.warmup else timedelta(0)
    if state.stable is None:
        slow_start = timedelta(0)  # nothing to share the traffic with
    weight = effective_weight(target, started_at=started, now=tick.now, slow_start=slow_start)
    weight = max(weight, current)
    set_weight(tick, weight)
    if weight >= target:
        return None
    wake = next_ramp_change(target, started_at=started, now=tick.now, slow_start=slow_start)
    tick.wake_at(wake)
    return Blocked(f"slow start: {weight}% of {target}%")


def _schedule_analysis(tick: Tick) -> None:
    """Keep exactly one analysis scheduled while one should run, none otherwise."""
    state = tick.state
    analysis, gating = analysis_in_effect(state, tick.service)
    if state.strategy is Strategy.BLUE_GREEN:
        running = analysis is not None and state.phase is Phase.PREVIEW
    else:
        running = analysis is not None and (gating or state.canary_weight > 0)
    if not running or analysis is None:
        if state.next_analysis_at is not None:
            tick.update(next_analysis_at=None)
        return
    if state.next_analysis_at is None:
        tick.update(next_analysis_at=tick.now + analysis.interval)
    tick.wake_at(tick.state.next_analysis_at)
