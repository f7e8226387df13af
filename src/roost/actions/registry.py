"""Every action by name (:func:`get_action`), and :func:`run_action`: validate, run, audit.

The audit event (``dev.roost.action.succeeded`` / ``.failed``) names the action, its params,
the cause (schedule or trigger, the causing event, the tick) and the outcome. Nothing an action
does fails silently: a refusal or a crash is a failed result *and* an event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from roost._util import event_catalog as events
from roost._util.redacting import redact_url
from roost.actions.capacity import Scale, StartEnvironment, StopEnvironment
from roost.actions.jobs import Job
from roost.actions.protocol import Action, ActionContext, ActionResult
from roost.actions.quarantining import Quarantine
from roost.actions.rollouts import Deploy, PauseRollout, Rollback
from roost.actions.silencing import SilenceAlerts
from roost.actions.webhooks import Webhook
from roost.control.errors import OperationError
from roost.spec.actions import ACTION_PARAMS
from roost.store import StaleFencingToken, StoreError

log = logging.getLogger("roost.actions")

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Scale(),
        StopEnvironment(),
        StartEnvironment(),
        Deploy(),
        Rollback(),
        PauseRollout(),
        Quarantine(),
        SilenceAlerts(),
        Job(),
        Webhook(),
    )
}
# Every action roost.yaml accepts runs, and every action that runs is accepted: one list.
assert set(ACTIONS) == set(ACTION_PARAMS), "roost.spec.actions and roost.actions disagree"


class UnknownAction(KeyError):
    """No action has that name."""


def get_action(name: str) -> Action:
    """The action called ``name``; :class:`UnknownAction` naming the known ones otherwise."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownAction(f"no action {name!r}; actions are {', '.join(ACTIONS)}") from None


def _shown(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as the audit log shows them (a webhook URL without its credentials)."""
    shown = dict(params)
    if isinstance(shown.get("url"), str):
        shown["url"] = redact_url(shown["url"])
    return shown


def run_action(name: str, params: Mapping[str, Any], context: ActionContext) -> ActionResult:
    """Run action ``name`` with ``params`` for ``context.cause`` and audit the outcome.

    Never raises for what an action can run into (bad params, a guard's refusal, a store or
    agent failure, a bug): the result says it failed and why, and so does the audit event —
    except when this process no longer leads, which is re-raised (a deposed leader records
    nothing and must stop)."""
    try:
        action = get_action(name)
        parsed = action.params_model.model_validate(dict(params))
    except UnknownAction as exc:
        result = ActionResult(False, str(exc.args[0]))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        result = ActionResult(False, f"bad params for {name}: {where}: {first['msg']}")
    else:
        try:
            result = action.run(context, parsed)
        except StaleFencingToken:
            raise
        except OperationError as exc:
            if exc.status == 503:
                raise
            result = ActionResult(False, str(exc), {"status": exc.status}, hint=exc.hint)
        except StoreError as exc:
            result = ActionResult(False, f"state store: {exc}")
        except Exception as exc:  # an action's bug must not take the scheduler down
            log.exception("action %s failed", name)
            result = ActionResult(False, f"{name} crashed: {type(exc).__name__}: {exc}")
    _audit(name, params, context, result)
    return result


def _audit(
    name: str, params: Mapping[str, Any], context: ActionContext, result: ActionResult
) -> None:
    data = {
        "action": name,
        "params": _shown(params),
        "cause": context.cause.to_dict(),
        "ok": result.ok,
        "message": result.message,
        "hint": result.hint,
        "result": dict(result.data),
    }
    try:
        context.wiring.ws.store.events.append(
            events.ACTION_SUCCEEDED if result.ok else events.ACTION_FAILED,
            source=events.SOURCE_ACTIONS,
            subject=name,
            data=data,
            actor=context.actor,
            fence=context.fence,
        )
    except (StoreError, TypeError, ValueError) as exc:
        # Not JSON (an odd rollout view) or a store hiccup: keep the essentials.
        log.warning("action %s: full audit failed (%s); recording the outcome only", name, exc)
        data["result"] = {}
        context.wiring.ws.store.events.append(
            events.ACTION_SUCCEEDED if result.ok else events.ACTION_FAILED,
            source=events.SOURCE_ACTIONS,
            subject=name,
            data=data,
            actor=context.actor,
            fence=context.fence,
        )
