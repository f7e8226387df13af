"""``silence``: mute matching alerts for a while (the same silences file as ``roost alerts
silence``; the SLO loop reads it on every evaluation)."""

from __future__ import annotations

import secrets

from roost._util import event_catalog as events
from roost.actions.protocol import ActionContext, ActionResult
from roost.alerts import Silence
from roost.alerts import silences as silence_file
from roost.control.slos.watching import silences_path
from roost.spec.actions import SilenceParams


class SilenceAlerts:
    name = "silence"
    params_model = SilenceParams

    def run(self, context: ActionContext, params: SilenceParams) -> ActionResult:
        ws = context.wiring.ws
        now = ws.clock.now()
        new = Silence(
            id=secrets.token_hex(4),
            matchers=dict(params.matchers),
            starts_at=now,
            ends_at=now + params.duration,
            created_by=context.actor,
            comment=params.comment or f"by {context.actor}",
        )
        path = silences_path(ws)
        kept = [s for s in silence_file.load(path) if s.ends_at > now]
        silence_file.save(path, [*kept, new])
        ws.store.events.append(
            events.SLO_SILENCE_CREATED,
            source=events.SOURCE_ACTIONS,
            subject=params.matchers.get("roost_service"),
            data={**new.to_json(), "cause": context.cause.to_dict()},
            actor=context.actor,
            fence=context.fence,
        )
        return ActionResult(
            True,
            f"silence {new.id} until {new.ends_at.isoformat(timespec='seconds')}",
            {"silence": new.id, "ends_at": new.ends_at.isoformat()},
        )
