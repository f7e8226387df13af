"""Guard: the environment's freeze windows (rollbacks pass windows that allow them)."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.rollout import check_freeze


class FreezeWindow:
    name = "freeze"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        return check_freeze(
            ctx.env.freeze_windows, environment=ctx.environment, now=ctx.now, rollback=ctx.rollback
        )
