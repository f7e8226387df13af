"""SLOs as rollout gates: the canary check "abort when the page tier fires" and the
environment guardrail "refuse deploys while the error budget is spent".

The canary check evaluates the service's SLOs on the *canary's own* traffic (the agent counts
per revision), each time the rollout's analysis runs. Not on the whole service: a deploy that
fixes an outage of the stable revision must not be aborted by the outage it fixes. The
minimum-traffic guard of the engine applies, so a canary's first few failures do not page.

The budget gate uses the SLO loop's latest reports (or evaluates now) and is overridden only
with a reason, recorded as a ``roost.slo.budget_gate.overridden`` event before the deploy goes
ahead.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from roost.control.observing import CanaryView
from roost.control.plane import ControlPlane, OperationError
from roost.control.slo_reports import AgentSliSource, evaluate
from roost.slo import SloTarget
from roost.slo.gating import OVERRIDE_EVENT, Override, Refusal, budget_gate, page_firing
from roost.spec import Environment, Service
from roost.store import Fence


def page_check(agent: Any, spec: Service, revision: str, *, now: datetime) -> str | None:
    """Why the canary ``revision`` must be aborted — a page tier of one of ``spec``'s SLOs
    fires on its own traffic — or ``None``. Agents without per-revision SLI counts (and
    services without SLOs) are never stopped by it."""
    if not spec.slos or not callable(getattr(agent, "sli_counts", None)):
        return None
    targets = [SloTarget(spec.name, slo) for slo in spec.slos]
    reports = evaluate(targets, AgentSliSource(agent, revision=revision), now=now)
    reason = page_firing(reports, service=spec.name)
    return None if reason is None else f"SLO page alert on the canary's traffic: {reason}"


def with_page_check(
    canary: CanaryView, agent: Any, spec: Service, revision: str, *, now: datetime
) -> CanaryView:
    """``canary`` with a failure (which aborts the rollout, reason in its timeline) when
    :func:`page_check` says so; unchanged otherwise or when it already failed."""
    if canary.failure is not None:
        return canary
    reason = page_check(agent, spec, revision, now=now)
    return canary if reason is None else dataclasses.replace(canary, failure=reason)


def check_budget(
    plane: ControlPlane,
    *,
    service: str,
    environment: str,
    env: Environment,
    actor: str,
    override: str | None,
    fence: Fence | None,
) -> None:
    """Refuse a deploy of ``service`` to ``environment`` while one of its SLOs has no error
    budget left and the environment has ``error_budget_gate``; with ``override`` (a reason) let
    it through and audit that. Raises :class:`OperationError` (409) to refuse."""
    if not env.error_budget_gate:
        return
    if not any(s.name == service and s.slos for s in plane.ws.project.services):
        return
    _, reports = plane.slos.reports()
    result = budget_gate(
        reports,
        service=service,
        environment=environment,
        override_by=actor if override is not None else None,
        override_reason=override,
    )
    if isinstance(result, Refusal):
        hint = result.hint
        if override is None:
            hint = 'fix reliability first, or roll back; or `roost deploy --override-budget "why"`'
        raise OperationError(result.message, status=409, hint=hint)
    if isinstance(result, Override):
        plane.ws.store.events.append(
            OVERRIDE_EVENT,
            source="roost/control",
            subject=service,
            data={**result.to_event(), "environment": environment},
            actor=actor,
            fence=fence,
        )
