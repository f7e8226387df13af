"""``deploy``, ``rollback`` and ``pause-rollout``: the same operations as ``roost deploy``,
``roost rollback`` and ``roost rollout pause``, so every guard in front of them applies (a
scheduled deploy into a freeze window is refused like a person's)."""

from __future__ import annotations

from roost.actions.protocol import ActionContext, ActionResult
from roost.rollout import CommandKind
from roost.spec.actions import DeployParams, PauseParams, RollbackParams


class Deploy:
    name = "deploy"
    params_model = DeployParams

    def run(self, context: ActionContext, params: DeployParams) -> ActionResult:
        view = context.wiring.deployments.deploy(
            params.service,
            environment=params.environment,
            release=params.release,
            actor=context.actor,
        )
        return ActionResult(
            True, f"rollout {view.get('id')} of {params.service} to {params.environment}", view
        )


class Rollback:
    name = "rollback"
    params_model = RollbackParams

    def run(self, context: ActionContext, params: RollbackParams) -> ActionResult:
        view = context.wiring.rollbacks.rollback(
            params.service, environment=params.environment, to=params.to, actor=context.actor
        )
        return ActionResult(
            True, f"rollback {view.get('id')} of {params.service} in {params.environment}", view
        )


class PauseRollout:
    name = "pause-rollout"
    params_model = PauseParams

    def run(self, context: ActionContext, params: PauseParams) -> ActionResult:
        ops = context.wiring.deployments
        record = ops.find(params.service, params.environment)
        view = ops.command(record.id, CommandKind.PAUSE, actor=context.actor)
        return ActionResult(True, f"rollout {record.id} paused", view)
