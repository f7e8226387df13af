"""Abort = traffic first.

The first action of every abort is ONE atomic router update that sends 100% of the traffic to
the stable revision. Everything else — the timeline, scaling the failed revision down — comes
after it, and the scale-down only after a delay: the failed replicas stay up for logs and
debugging, and stopping them must never be on the path to getting users back on a working
version.

The timeline gets three separate timestamps (see :class:`~roost.rollout.AbortRecord`): when the
fault began (the window start of the earliest failing analysis in the streak), when it was
detected (the abort decision) and when traffic was back (the executor stamps it after the router
confirmed, with :func:`mark_traffic_reverted`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from roost.rollout._serial import dump_time
from roost.rollout._ticking import scale_down_delay, weight_map
from roost.rollout.decisions import (
    Abort,
    Action,
    Decision,
    RecordTimeline,
    ScaleDownAfter,
    SetWeights,
)
from roost.rollout.states import AbortRecord, Phase, RolloutState
from roost.spec.services import Service


def plan_abort(
    state: RolloutState,
    service: Service,
    *,
    reason: str,
    by: str,
    now: datetime,
    notes: Sequence[RecordTimeline] = (),
) -> Decision:
    """End ``state``'s rollout: traffic back to stable first, then the rest.

    Actions, in order: ``SetWeights({stable: 100, canary: 0})`` (omitted on a first deploy,
    which has no stable revision to go back to), ``notes`` (timeline lines of the same decision,
    e.g. the failing verdict), ``RecordTimeline("aborted")``, ``ScaleDownAfter(canary, delay)``
    and ``Abort(reason)``. ``by`` is who or what decided: ``"analysis"``, ``"runtime"`` or a
    user name. An already ended rollout is left as it is.
    """
    if state.ended:
        return Decision(state)
    delay = scale_down_delay(state, service)
    record = AbortRecord(reason=reason, by=by, detected_at=now, fault_began_at=state.failing_since)
    actions: list[Action] = []
    weights = state.weights
    if state.stable is not None:
        weights = weight_map(state, 0)
        # Sent even when the map already says so (a blue-green preview never had traffic): the
        # router may have been set by a previous leader, and the update is idempotent.
        actions.append(SetWeights(weights))
    actions.extend(notes)
    actions.append(
        RecordTimeline(
            "aborted",
            {
                "reason": reason,
                "by": by,
                "fault_began_at": dump_time(record.fault_began_at),
                "detected_at": dump_time(now),
                "weights": dict(weights),
            },
        )
    )
    scale_down_at = now + delay
    actions.append(ScaleDownAfter(state.canary, delay, scale_down_at))
    actions.append(Abort(reason))
    next_state = replace(
        state,
        phase=Phase.ABORTED,
        weights=weights,
        target_weight=0,
        pause=None,
        abort=record,
        next_analysis_at=None,
        waiting_since=None,
        scale_down=state.canary,
        scale_down_at=scale_down_at,
        ended_at=now,
    )
    return Decision(next_state, tuple(actions))


def mark_traffic_reverted(state: RolloutState, *, at: datetime) -> Decision:
    """Stamp when the router confirmed the revert (call right after applying the abort's
    ``SetWeights``); the decision's timeline line carries all three timestamps and the two
    delays between them. Idempotent: a second call changes nothing."""
    record = state.abort
    if record is None:
        raise ValueError(f"rollout of {state.service} was not aborted; nothing was reverted")
    if record.traffic_reverted_at is not None:
        return Decision(state)
    record = replace(record, traffic_reverted_at=at)
    detail: dict[str, object] = {
        "fault_began_at": dump_time(record.fault_began_at),
        "detected_at": dump_time(record.detected_at),
        "traffic_reverted_at": dump_time(at),
        "revert_seconds": (at - record.detected_at).total_seconds(),
    }
    if record.fault_began_at is not None:
        detail["detection_seconds"] = (record.detected_at - record.fault_began_at).total_seconds()
        detail["fault_to_revert_seconds"] = (at - record.fault_began_at).total_seconds()
    return Decision(replace(state, abort=record), (RecordTimeline("traffic_reverted", detail),))
