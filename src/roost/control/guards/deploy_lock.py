"""Guard: someone else's deploy lock on ``deploy/<env>/<service>``
(:mod:`roost.control.guards.locks`; only ``roost serve`` has locks)."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override


class DeployLock:
    name = "deploy_lock"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if ctx.deploy_locks is None:
            return None
        return ctx.deploy_locks.check(ctx.service.name, ctx.environment, now=ctx.now)
