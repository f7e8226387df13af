"""Guard: a requester who approves their own deploy (``--approve``) must be allowed to, which
four eyes refuses. Waiting for the approvals themselves is not a refusal: the deploy is
recorded as awaiting approval."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.rollout import check_approver


class OwnApproval:
    name = "approval"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if not (ctx.approve and ctx.env.approval.required):
            return None
        return check_approver(ctx.env.approval, requested_by=ctx.actor, approver=ctx.actor)
