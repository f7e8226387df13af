"""Guard: one rollout at a time per service and environment, from the store's active record."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.rollout import check_one_rollout


class OneRollout:
    name = "one_rollout"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        service, environment = ctx.service.name, ctx.environment
        active = ctx.ws.store.rollouts.active(service, environment)
        return check_one_rollout(active, service=service, environment=environment)
