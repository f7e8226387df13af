"""``quarantine``: refuse deploys of an artifact digest until it is released (the guard is
:class:`roost.control.guards.quarantine.NotQuarantined`). ``roost artifacts quarantine|release``
use the same two functions, so a person's quarantine and a trigger's are audited alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from roost._util import event_catalog as events
from roost.actions.protocol import ActionContext, ActionResult
from roost.spec.actions import QuarantineParams
from roost.store import Fence, QuarantineRecord, Store


def quarantine(
    store: Store,
    digest: str,
    *,
    reason: str,
    actor: str,
    source: str,
    fence: Fence | None,
    cause: Mapping[str, Any] | None = None,
) -> tuple[QuarantineRecord, bool]:
    """Quarantine ``digest`` and audit it (once: quarantining it again records nothing new)."""
    record, new = store.quarantines.add(digest, reason=reason, by=actor, fence=fence)
    if new:
        store.events.append(
            events.ARTIFACT_QUARANTINED,
            source=source,
            subject=digest,
            data={"digest": digest, "reason": reason, "cause": dict(cause or {})},
            actor=actor,
            fence=fence,
        )
    return record, new


def release(
    store: Store, digest: str, *, reason: str, actor: str, source: str, fence: Fence | None
) -> QuarantineRecord | None:
    """Lift the quarantine of ``digest`` and audit it; None when it was not quarantined."""
    record = store.quarantines.release(digest, fence=fence)
    if record is not None:
        store.events.append(
            events.ARTIFACT_RELEASED,
            source=source,
            subject=digest,
            data={"digest": digest, "reason": reason, "quarantined_for": record.reason},
            actor=actor,
            fence=fence,
        )
    return record


class Quarantine:
    name = "quarantine"
    params_model = QuarantineParams

    def run(self, context: ActionContext, params: QuarantineParams) -> ActionResult:
        record, new = quarantine(
            context.wiring.ws.store,
            params.digest,
            reason=params.reason,
            actor=context.actor,
            source=events.SOURCE_ACTIONS,
            fence=context.fence,
            cause=context.cause.to_dict(),
        )
        message = (
            f"{params.digest} quarantined"
            if new
            else f"{params.digest} was already quarantined ({record.reason})"
        )
        return ActionResult(True, message, {"digest": params.digest, "new": new})
