"""The guards in front of a deploy and of a rollback, in the order they are asked.

Cheap, local checks first (who leads, the calendar, the store), then the ones that need the
SLO loop, a scan or the agent. The first refusal wins; see :func:`check_all`.
"""

from __future__ import annotations

from roost.control.guards.already_running import NotAlreadyRunning
from roost.control.guards.approvals import OwnApproval
from roost.control.guards.context import Guard
from roost.control.guards.deploy_lock import DeployLock
from roost.control.guards.error_budget import ErrorBudget
from roost.control.guards.freeze import FreezeWindow
from roost.control.guards.leading import Leading
from roost.control.guards.one_rollout import OneRollout
from roost.control.guards.promotion import Promotion
from roost.control.guards.quarantine import NotQuarantined
from roost.control.guards.scan import ScanGate
from roost.control.guards.schema import SchemaRange
from roost.control.guards.secrets import PinnedSecrets

DEPLOY_GUARDS: tuple[Guard, ...] = (
    Leading(),
    FreezeWindow(),
    OneRollout(),
    DeployLock(),
    Promotion(),
    NotQuarantined(),
    ErrorBudget(),
    ScanGate(),
    NotAlreadyRunning(),
    OwnApproval(),
    SchemaRange(),
    PinnedSecrets(),
)
"""In front of ``roost deploy``."""

ROLLBACK_GUARDS: tuple[Guard, ...] = (Leading(), FreezeWindow(), OneRollout(), DeployLock())
"""In front of ``roost rollback`` (which then asks :func:`roost.rollout.plan_rollback`)."""

REFUSAL_STATUS = {
    "leading": 503,
    "approval": 403,
    "freeze": 423,
    "quarantine": 409,
    "override_reason": 400,
    "secrets": 400,
}
"""The HTTP status of a guard's refusal (409 for the others: the request conflicts with the
state it would change)."""


def refusal_status(guard: str) -> int:
    return REFUSAL_STATUS.get(guard, 409)
