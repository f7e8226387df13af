"""Progressive rollouts with automatic, traffic-first, state-aware rollback — the decisions.

A domain package: it decides, the control layer applies. Nothing here does I/O or reads the
clock; everything returns plain data. The executor's loop, in short::

    decision = start_rollout(service, environment=env, canary=new, stable=old, now=now)
    while not decision.state.ended:
        apply(decision.actions)               # router, runtime, timeline; persist state
        ...sleep until decision.wait.until or something is observed...
        request = analysis_due(decision.state, service, now=now)
        verdict = analyse(metrics, request, now=now) if request else None
        decision = decide(decision.state, service,
                          Observation(verdict=verdict, warm_replicas=n, command=cmd), now=now)

* analysis — :func:`analyse` (thresholds + :mod:`comparing`: Mann-Whitney U with a minimum
  effect size) → :class:`Verdict` of PASS / FAIL / INCONCLUSIVE with reasons;
* stepping — :func:`start_rollout`, :func:`decide`: canary steps, blue-green, direct;
* aborting — :func:`plan_abort`: 100% to stable in one update first, scale down later;
  :func:`mark_traffic_reverted` stamps the third timeline timestamp;
* warming — :func:`warmup_status` per replica, :func:`effective_weight` for slow start;
* rolling back — :func:`plan_rollback` → :class:`RollbackPlan` or :class:`RollbackRefused`;
* guarding — approval (four eyes), freeze windows, one rollout at a time.
"""

from roost._util.refusals import Refusal
from roost.rollout.aborting import mark_traffic_reverted, plan_abort
from roost.rollout.analysing import AnalysisRequest, analyse, evaluate_check
from roost.rollout.comparing import (
    RankComparison,
    compare_error_ratio,
    compare_latency,
    rank_compare,
)
from roost.rollout.decisions import (
    Abort,
    Action,
    Decision,
    PauseForHuman,
    Promote,
    RecordTimeline,
    ScaleCanary,
    ScaleDownAfter,
    SetWeights,
    Wait,
    action_from_dict,
)
from roost.rollout.guarding import (
    ApprovalGrant,
    Freeze,
    check_approval,
    check_approver,
    check_freeze,
    check_one_rollout,
    freeze_occurrence,
)
from roost.rollout.observations import CommandKind, HumanCommand, Observation
from roost.rollout.rolling_back import Migration, RollbackPlan, RollbackRefused, plan_rollback
from roost.rollout.states import AbortRecord, Pause, PauseKind, Phase, RolloutState, Strategy
from roost.rollout.stepping import (
    analysis_due,
    choose_strategy,
    decide,
    restore_actions,
    start_rollout,
)
from roost.rollout.verdicts import CheckResult, Outcome, Verdict
from roost.rollout.warming import (
    WarmupPhase,
    WarmupProgress,
    WarmupStatus,
    effective_weight,
    next_ramp_change,
    warmup_status,
)

__all__ = [
    "Abort",
    "AbortRecord",
    "Action",
    "AnalysisRequest",
    "ApprovalGrant",
    "CheckResult",
    "CommandKind",
    "Decision",
    "Freeze",
    "HumanCommand",
    "Migration",
    "Observation",
    "Outcome",
    "Pause",
    "PauseForHuman",
    "PauseKind",
    "Phase",
    "Promote",
    "RankComparison",
    "RecordTimeline",
    "Refusal",
    "RollbackPlan",
    "RollbackRefused",
    "RolloutState",
    "ScaleCanary",
    "ScaleDownAfter",
    "SetWeights",
    "Strategy",
    "Verdict",
    "Wait",
    "WarmupPhase",
    "WarmupProgress",
    "WarmupStatus",
    "action_from_dict",
    "analyse",
    "analysis_due",
    "check_approval",
    "check_approver",
    "check_freeze",
    "check_one_rollout",
    "choose_strategy",
    "compare_error_ratio",
    "compare_latency",
    "decide",
    "effective_weight",
    "evaluate_check",
    "freeze_occurrence",
    "mark_traffic_reverted",
    "next_ramp_change",
    "plan_abort",
    "plan_rollback",
    "rank_compare",
    "restore_actions",
    "start_rollout",
    "warmup_status",
]
