"""Guard: the release asked for is not the one that already takes the traffic."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override


class NotAlreadyRunning:
    name = "already_running"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if ctx.release is None or ctx.release.id != ctx.stable:
            return None
        return Refusal(
            self.name,
            f"{ctx.release.id} already runs {ctx.service.name} in {ctx.environment} with the "
            "traffic",
            "deploy another release, or `roost rollback` to go back",
        )
