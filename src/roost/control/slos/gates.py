"""SLOs as rollout gates: the canary check "abort when the page tier fires" and the
environment guardrail "refuse deploys while the error budget is spent".

The canary check evaluates the service's SLOs on the *canary's own* traffic (the agent counts
per revision), each time the rollout's analysis runs. Not on the whole service: a deploy that
fixes an outage of the stable revision must not be aborted by the outage it fixes. The
minimum-traffic guard of the engine applies, so a canary's first few failures do not page.

The budget gate is a deploy guard (:class:`roost.control.guards.error_budget.ErrorBudget`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from roost.control.slos.reports import AgentSliSource, evaluate
from roost.slo import SloTarget
from roost.slo.gating import page_firing
from roost.spec import Service


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
