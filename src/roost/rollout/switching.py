"""Blue-green: the new revision runs at full size beside the old one with weight 0 (reachable on
its preview port), then all traffic switches in one router update.

The switch happens on ``promote``, or by itself with ``auto_promote`` once the preview is ready
and warm, ``auto_promote_after`` has passed and — if the service has an analysis — the latest
analysis of the preview passed. The old revision stays up for ``scale_down_delay`` so that a
switch back is instant. There is no slow start: the point of blue-green is one switch.
"""

from __future__ import annotations

from datetime import timedelta

from roost.rollout._ticking import (
    Tick,
    blue_green_spec,
    finish_promoted,
    ignore,
    pause,
    replica_gate,
    said,
    set_weight,
    unpause,
)
from roost.rollout.decisions import ScaleCanary
from roost.rollout.observations import CommandKind, HumanCommand
from roost.rollout.states import PauseKind, Phase, RolloutState
from roost.rollout.verdicts import Outcome

_SWITCH = 100
"""``target_weight`` 100 in a preview means "switch requested" (by a human or auto-promote):
kept in the state, so a promote is not lost when a replica is briefly not warm."""


def command_blue_green(tick: Tick, command: HumanCommand) -> None:
    """Apply a human command (abort is handled before this)."""
    state = tick.state
    kind = command.kind
    if kind in (CommandKind.PROMOTE, CommandKind.PROMOTE_FULL):
        if state.phase is not Phase.PREVIEW:
            ignore(tick, command, "the preview is not ready yet")
            return
        unpause(tick, command.by, "promote")
        tick.update(target_weight=_SWITCH)
        tick.note("switch_requested", by=command.by)
    elif kind is CommandKind.PAUSE:
        if state.pause is not None:
            ignore(tick, command, "already paused")
            return
        pause(tick, PauseKind.HUMAN, said(command, "paused"), command.by)
    elif kind is CommandKind.RESUME:
        if state.pause is None:
            ignore(tick, command, "not paused")
        elif state.pause.kind is PauseKind.AWAITING_PROMOTE:
            ignore(tick, command, "the preview waits for promote, not resume")
        else:
            unpause(tick, command.by, "resume")
            tick.update(consecutive_inconclusive=0)


def progress_blue_green(tick: Tick) -> str | None:
    """Move the blue-green rollout on; returns an abort reason if it must give up."""
    if tick.state.phase is Phase.PROGRESSING:
        give_up = _start(tick)
        # (A function call, not a re-read of the same attribute: _start changed the state.)
        if give_up is not None or not _previewing(tick.state):
            return give_up
    state = tick.state
    if state.target_weight == _SWITCH:
        return _switch(tick)
    if state.pause is not None:
        tick.waiting = f"paused: {state.pause.reason}"
    elif blue_green_spec(tick.service).auto_promote and _auto_promote_due(tick):
        tick.update(target_weight=_SWITCH)
        tick.note("switch_requested", by="auto_promote")
        return _switch(tick)
    return None


def _previewing(state: RolloutState) -> bool:
    return state.phase is Phase.PREVIEW


def _start(tick: Tick) -> str | None:
    """The new revision at full size and no traffic, until every replica is warm."""
    spec = blue_green_spec(tick.service)
    state = tick.state
    if state.canary_replicas < state.replicas:
        tick.act(ScaleCanary(state.canary, state.replicas))
        tick.update(canary_replicas=state.replicas)
    blocked = replica_gate(tick, state.replicas)
    if blocked is not None:
        if blocked.give_up:
            return blocked.reason
        tick.waiting = blocked.reason
        return None
    where = f" on port {spec.preview_port}" if spec.preview_port is not None else ""
    tick.update(phase=Phase.PREVIEW, preview_since=tick.now, consecutive_inconclusive=0)
    tick.note("preview_ready", revision=state.canary, preview_port=spec.preview_port)
    if not spec.auto_promote:
        pause(
            tick,
            PauseKind.AWAITING_PROMOTE,
            f"preview of {state.canary} is ready{where}: promote to switch all traffic",
        )
    return None


def _auto_promote_due(tick: Tick) -> bool:
    spec = blue_green_spec(tick.service)
    state = tick.state
    assert state.preview_since is not None
    due = state.preview_since + (spec.auto_promote_after or timedelta(0))
    if tick.now < due:
        tick.wake_at(due, f"auto-promote at {due.isoformat()}")
        return False
    if tick.service.analysis is not None and state.step_outcome is not Outcome.PASS:
        tick.waiting = "auto-promote waits for a passing analysis of the preview"
        return False
    return True


def _switch(tick: Tick) -> str | None:
    blocked = replica_gate(tick, tick.state.replicas)
    if blocked is not None:
        if blocked.give_up:
            return blocked.reason
        tick.waiting = f"switch requested; {blocked.reason}"
        return None
    set_weight(tick, 100)
    finish_promoted(tick)
    return None
