"""What the rollout executor reads off the agent's state: weights, running revisions, and how
many replicas of the new revision are ready *and warm* (or why they never will be).

The agent's ``GET /v1/state`` is plain JSON; these helpers are the only place that knows its
shape, so the executor and the operations stay readable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost.control.rollouts.warming import ReplicaKey, Warmer
from roost.control.slos.gates import page_check
from roost.rollout import WarmupPhase, warmup_status
from roost.spec import Service

CRASH_LOOP_RESTARTS = 3
"""A new replica that restarted this often is crash-looping: the rollout aborts at once instead
of waiting out the ready deadline (its stable revision serves meanwhile, but a release that
cannot stay up will not get better by waiting)."""

AgentState = Mapping[str, Any]
"""The agent's ``/v1/state`` document."""


def environment_view(view: AgentState, environment: str) -> AgentState:
    """One environment's part of the whole agent's state (``{"services": ...}``): what the
    helpers below read. A view that already is one environment's is returned as it is."""
    if "environments" not in view:
        return view
    found = (view.get("environments") or {}).get(environment)
    return found if isinstance(found, Mapping) else {"environment": environment, "services": {}}


def environment_views(view: AgentState) -> dict[str, AgentState]:
    """Every environment's part of the whole agent's state, by name."""
    if "environments" not in view:
        return {str(view.get("environment", "")): view}
    return {str(name): env for name, env in (view.get("environments") or {}).items()}


def service_state(view: AgentState, service: str) -> Mapping[str, Any]:
    """The part of the agent state about ``service`` (empty when the agent does not know it)."""
    services = view.get("services") or {}
    found = services.get(service)
    return found if isinstance(found, Mapping) else {}


def weights_of(view: AgentState, service: str) -> dict[str, int]:
    """The router's weight map for ``service``."""
    weights = service_state(view, service).get("weights") or {}
    return {str(name): int(weight) for name, weight in weights.items()}


def revisions_of(view: AgentState, service: str) -> dict[str, Mapping[str, Any]]:
    """The revisions of ``service`` the agent runs, by name."""
    revisions = service_state(view, service).get("revisions") or []
    return {str(rev["revision"]): rev for rev in revisions}


def current_revision(view: AgentState, service: str) -> str | None:
    """The revision that carries most of ``service``'s traffic now (the stable one), if any."""
    weights = {name: w for name, w in weights_of(view, service).items() if w > 0}
    if not weights:
        return None
    return max(sorted(weights), key=lambda name: weights[name])


@dataclass(frozen=True, slots=True)
class CanaryView:
    """The new revision as the rollout needs to see it.

    ``warm``: replicas that are ready (the router may use them) and past warm-up;
    ``failure``: why the revision cannot become ready (crash loop, failed warm-up), or None;
    ``failure_by``: what found it (``runtime``, or ``slo`` for a page on its traffic);
    ``detail``: one line per replica for the live view.
    """

    running: bool
    desired: int
    warm: int
    failure: str | None
    detail: tuple[str, ...] = ()
    failure_by: str = "runtime"


def observe_canary(
    view: AgentState,
    service: Service,
    revision: str,
    *,
    host: str,
    warmer: Warmer,
    now: datetime,
) -> CanaryView:
    """Count the ready-and-warm replicas of ``revision`` and spot the ones that will never be.

    A replica counts once its startup probe passed (the runtime reports it ``Running``), its
    readiness probe passes (the router would use it) and, with a warm-up section, warm-up says
    it is warm (or may proceed cold). Warm-up starts when the startup probe passes.
    """
    rev = revisions_of(view, service.name).get(revision)
    if rev is None:
        return CanaryView(running=False, desired=0, warm=0, failure=None)
    warm = 0
    failure = None
    detail = []
    for replica in rev.get("replicas") or []:
        index = int(replica.get("index", 0))
        state = str(replica.get("state", ""))
        restarts = int(replica.get("restarts") or 0)
        if state == "Failed" or (restarts >= CRASH_LOOP_RESTARTS and not replica.get("ready")):
            last = replica.get("last_exit") or replica.get("message") or state
            failure = failure or (
                f"replica #{index} of {revision} is {state} after {restarts} restart(s): {last}"
            )
            detail.append(f"#{index} {state}")
            continue
        port = replica.get("port")
        if state != "Running" or not isinstance(port, int):
            detail.append(f"#{index} {state.lower() or 'pending'}")
            continue
        if service.warmup is None:
            ready = bool(replica.get("ready"))
            detail.append(f"#{index} {'ready' if ready else 'not ready'}")
            warm += ready
            continue
        key = ReplicaKey(service.name, revision, index, replica.get("pid"))
        progress = warmer.progress(key, host=host, port=port, warmup=service.warmup)
        status = warmup_status(service.warmup, progress, now=now)
        if status.phase is WarmupPhase.FAILED:
            failure = failure or f"replica #{index} of {revision}: {status.reason}"
        elif status.ready and replica.get("ready"):
            warm += 1
        detail.append(f"#{index} {status.reason}")
    return CanaryView(
        running=True,
        desired=int(rev.get("desired_replicas") or 0),
        warm=warm,
        failure=failure,
        detail=tuple(detail),
    )


def replica_keys(view: AgentState) -> list[ReplicaKey]:
    """Every replica the agent runs, as warm-up keys (to forget the others)."""
    keys = []
    services = [
        (service, svc)
        for env in environment_views(view).values()
        for service, svc in (env.get("services") or {}).items()
    ]
    for service, svc in services:
        for rev in svc.get("revisions") or []:
            for replica in rev.get("replicas") or []:
                keys.append(
                    ReplicaKey(
                        str(service),
                        str(rev["revision"]),
                        int(replica.get("index", 0)),
                        replica.get("pid"),
                    )
                )
    return keys


def with_page_check(
    canary: CanaryView, agent: Any, spec: Service, revision: str, *, now: datetime
) -> CanaryView:
    """``canary`` with a failure (which aborts the rollout, reason in its timeline) when
    :func:`page_check` says so; unchanged otherwise or when it already failed."""
    if canary.failure is not None:
        return canary
    reason = page_check(agent, spec, revision, now=now)
    if reason is None:
        return canary
    return dataclasses.replace(canary, failure=reason, failure_by="slo")
