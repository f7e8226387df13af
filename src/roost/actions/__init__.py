"""Actions: what a schedule or a trigger does — scale a service, stop or start an environment,
deploy / roll back / pause a rollout, quarantine an artifact digest, silence alerts, run a job,
call a webhook.

Each action is a small object (:class:`Action`: ``name``, ``params_model``, ``run``) in its own
module; :func:`get_action` finds one by name and :func:`run_action` runs it and audits the
outcome with its :class:`Cause`. Actions sit above the control plane and call its operations,
so the guards in front of deploys and the leader's fencing apply to them as to a person.
"""

from roost.actions.protocol import Action, ActionContext, ActionResult, Cause
from roost.actions.registry import ACTIONS, UnknownAction, get_action, run_action

__all__ = [
    "ACTIONS",
    "Action",
    "ActionContext",
    "ActionResult",
    "Cause",
    "UnknownAction",
    "get_action",
    "run_action",
]
