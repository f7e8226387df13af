"""``webhook``: send a JSON body to a URL. The body is the one written in ``params``; the cause
goes in headers (``X-Roost-Actor``, ``X-Roost-Cause-Event``) so receivers that expect an exact
body format still get it. A non-2xx answer is a failure (the caller's retry policy decides)."""

from __future__ import annotations

import httpx

from roost._util.redacting import redact_url
from roost.actions.protocol import ActionContext, ActionResult
from roost.spec.actions import WebhookParams


class Webhook:
    name = "webhook"
    params_model = WebhookParams

    def run(self, context: ActionContext, params: WebhookParams) -> ActionResult:
        shown = redact_url(params.url)
        headers = {"X-Roost-Actor": context.actor}
        if context.cause.event_id is not None:
            headers["X-Roost-Cause-Event"] = context.cause.event_id
        try:
            response = httpx.request(
                params.method,
                params.url,
                json=params.body,
                headers=headers,
                timeout=params.timeout.total_seconds(),
            )
        except httpx.HTTPError as exc:
            return ActionResult(
                False,
                f"{params.method} {shown} failed: {type(exc).__name__}",
                {"url": shown},
                hint="is the receiver up and reachable from the control plane?",
            )
        data = {"url": shown, "status": response.status_code}
        if not response.is_success:
            return ActionResult(False, f"{params.method} {shown}: {response.status_code}", data)
        return ActionResult(True, f"{params.method} {shown}: {response.status_code}", data)
