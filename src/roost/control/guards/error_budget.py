"""Guard: with ``error_budget_gate``, no deploys while one of the service's SLOs has no error
budget left (:func:`roost.slo.gating.budget_gate` decides); ``--override-budget REASON`` lets
the deploy through as an override, audited as ``roost.slo.budget_gate.overridden``."""

from __future__ import annotations

from roost._util import event_catalog as events
from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.slo.gating import OVERRIDE_EVENT, budget_gate
from roost.slo.gating import Override as BudgetOverride


class ErrorBudget:
    name = "error_budget"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if not ctx.env.error_budget_gate or not ctx.service.slos:
            return None
        reason = ctx.overrides.get(self.name)
        result = budget_gate(
            ctx.slo_reports,
            service=ctx.service.name,
            environment=ctx.environment,
            rollback=ctx.rollback,
            override_by=ctx.actor if reason is not None else None,
            override_reason=reason,
        )
        if isinstance(result, Refusal) and reason is None:
            return Refusal(
                result.guard,
                result.message,
                'fix reliability first, or roll back; or `roost deploy --override-budget "why"`',
            )
        if isinstance(result, BudgetOverride):
            return Override(
                self.name,
                OVERRIDE_EVENT,
                source=events.SOURCE_CONTROL,
                subject=ctx.service.name,
                data={**result.to_event(), "environment": ctx.environment},
            )
        return result
