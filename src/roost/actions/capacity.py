"""``scale``, ``stop-environment`` and ``start-environment``: capacity, through the control
plane's scaling operations (leader only; audited there as well)."""

from __future__ import annotations

from roost.actions.protocol import ActionContext, ActionResult
from roost.control.operations.scaling import scale_service, start_environment, stop_environment
from roost.spec.actions import EnvironmentParams, ScaleParams


class Scale:
    name = "scale"
    params_model = ScaleParams

    def run(self, context: ActionContext, params: ScaleParams) -> ActionResult:
        data = scale_service(
            context.wiring.plane,
            params.service,
            environment=params.environment,
            replicas=params.replicas,
            actor=context.actor,
        )
        return ActionResult(
            True,
            f"{params.service} in {params.environment} scaled to {params.replicas}",
            data,
        )


class StopEnvironment:
    name = "stop-environment"
    params_model = EnvironmentParams

    def run(self, context: ActionContext, params: EnvironmentParams) -> ActionResult:
        data = stop_environment(context.wiring.plane, params.environment, actor=context.actor)
        return ActionResult(True, f"{params.environment} stopped", data)


class StartEnvironment:
    name = "start-environment"
    params_model = EnvironmentParams

    def run(self, context: ActionContext, params: EnvironmentParams) -> ActionResult:
        data = start_environment(context.wiring.plane, params.environment, actor=context.actor)
        return ActionResult(True, f"{params.environment} started", data)
