"""A rollout as people read it: the JSON the API returns and the CLI's live view draws.

Plain data from the record, its persisted state, its request and the spec it follows; nothing
here talks to the agent (the CLI adds live per-revision metrics from ``/api/v1/ps``).
"""

from __future__ import annotations

from typing import Any

from roost.control.rollouts.requests import load_request, load_state
from roost.rollout import Strategy
from roost.spec import Service
from roost.spec.rollouts import CanaryRollout
from roost.store import RolloutRecord


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def rollout_view(record: RolloutRecord, spec: Service | None = None) -> dict[str, Any]:
    """Everything about a rollout that fits on a screen."""
    request = load_request(record)
    state = load_state(record)
    view: dict[str, Any] = {
        "id": record.id,
        "service": record.service,
        "environment": record.environment,
        "from_release": record.from_release,
        "to_release": record.to_release,
        "strategy": record.strategy,
        "state": record.state,
        "active": record.active,
        "step": record.step,
        "created_at": _time(record.created_at),
        "updated_at": _time(record.updated_at),
        "ended_at": _time(record.ended_at),
        "kind": request.kind,
        "requested_by": request.requested_by,
        "approvals": [g.by for g in request.approvals],
        "waiting": request.waiting,
        "override": request.override,
        "steps": [],
    }
    canary = state is None or state.strategy is Strategy.CANARY
    if spec is not None and isinstance(spec.rollout, CanaryRollout) and canary:
        view["steps"] = [
            step.model_dump(mode="json", exclude_none=True) for step in spec.rollout.steps
        ]
    if state is None:
        return view
    verdict = state.last_verdict
    view.update(
        {
            "phase": state.phase.value,
            "strategy": state.strategy.value,
            "canary": state.canary,
            "stable": state.stable,
            "weights": dict(state.weights),
            "target_weight": state.target_weight,
            "canary_replicas": state.canary_replicas,
            "replicas": state.replicas,
            "analyses": state.analyses,
            "consecutive_failures": state.consecutive_failures,
            "consecutive_inconclusive": state.consecutive_inconclusive,
            "pause": None if state.pause is None else state.pause.to_dict(),
            "abort": None if state.abort is None else state.abort.to_dict(),
            "last_verdict": None
            if verdict is None
            else {
                "outcome": verdict.outcome.value,
                "summary": verdict.summary(),
                "window_end": _time(verdict.window_end),
            },
            "scale_down": state.scale_down,
            "scale_down_at": _time(state.scale_down_at),
        }
    )
    return view
