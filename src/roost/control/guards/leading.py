"""Guard: only the leading control plane deploys (a follower's refusal names the leader)."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override


class Leading:
    name = "leading"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        return ctx.leading
