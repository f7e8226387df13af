"""The guards in front of deploys and rollbacks: one :class:`DeployContext` read once, an
ordered tuple of small guards (:data:`DEPLOY_GUARDS`, :data:`ROLLBACK_GUARDS`), and one runner
(:func:`check_all`) — the first refusal stops with nothing written; overrides are audited
(:func:`audit`) only once every guard has passed."""

from roost.control.guards.context import DeployContext, Guard, Override, audit, check_all
from roost.control.guards.order import DEPLOY_GUARDS, ROLLBACK_GUARDS, refusal_status

__all__ = [
    "DEPLOY_GUARDS",
    "ROLLBACK_GUARDS",
    "DeployContext",
    "Guard",
    "Override",
    "audit",
    "check_all",
    "refusal_status",
]
