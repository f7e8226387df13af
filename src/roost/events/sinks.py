"""The I/O edge of triggers: hand one event to one sink and say how it went.

Every sink gets the event id as its idempotency key (``ce-id`` on every HTTP request; the
ticket body's ``idempotency_key``; ``CE_ID`` for a command), because delivery is at least
once: a receiver that took an event and answered too late gets it again.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from roost.events.templating import render, render_params
from roost.spec.triggers import (
    CommandSink,
    SlackSink,
    TicketSink,
    Trigger,
    WebhookSink,
)

STRUCTURED = "application/cloudevents+json"
_OUTPUT_TAIL = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: ``ok``, the HTTP status or exit code, and what to show."""

    ok: bool
    status: int | None = None
    detail: str | None = None


class ActionFailed(Exception):
    """An action could not do what it was asked (shown in the delivery's attempts)."""


@dataclass(frozen=True, slots=True)
class ActionCall:
    """A trigger asks for a roost action: which, with what, because of which event."""

    name: str
    params: Mapping[str, Any]
    event: Mapping[str, Any]
    trigger: str
    delivery_id: str


ActionRunner = Callable[[ActionCall], str | None]
"""Runs a roost action (the control plane's registry, ``roost.actions``); a short summary of
what it did, or :class:`ActionFailed` (``KeyError`` for an unknown action). Events it records
carry the delivery's cause (:mod:`roost.store.causation`)."""


def deliver(
    trigger: Trigger,
    envelope: dict[str, Any],
    *,
    client: httpx.Client,
    root: Path | None = None,
    actions: ActionRunner | None = None,
    delivery_id: str = "",
) -> Outcome:
    """One attempt to hand ``envelope`` to ``trigger``'s sink."""
    if trigger.webhook is not None:
        return _webhook(trigger.webhook, envelope, client)
    if trigger.slack is not None:
        return _slack(trigger.slack, envelope, client)
    if trigger.ticket is not None:
        return _ticket(trigger.ticket, envelope, client)
    if trigger.command is not None:
        return _command(trigger.command, envelope, root)
    assert trigger.action is not None
    call = ActionCall(
        name=trigger.action.name,
        params=render_params(dict(trigger.action.with_), envelope),
        event=envelope,
        trigger=trigger.name,
        delivery_id=delivery_id,
    )
    return _action(call, actions)


# -- HTTP -----------------------------------------------------------------------------------------


def binary_headers(envelope: Mapping[str, Any]) -> dict[str, str]:
    """The CloudEvents HTTP binary-mode headers: every attribute but ``data`` as ``ce-<name>``
    (values percent-encoded where HTTP headers cannot carry them)."""
    headers = {}
    for name, value in envelope.items():
        if name in ("data", "data_base64", "datacontenttype") or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        headers[f"ce-{name}"] = quote(text, safe=" !#$&'()*+,-./:;<=>?@[]^_`{|}~")
    headers["content-type"] = str(envelope.get("datacontenttype") or "application/json")
    return headers


def _post(
    client: httpx.Client, url: str, *, content: bytes, headers: dict[str, str], timeout: float
) -> Outcome:
    try:
        response = client.post(url, content=content, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{url} is unreachable: {type(exc).__name__}: {exc}")
    if response.is_success:
        return Outcome(True, response.status_code, None)
    body = response.text[:_OUTPUT_TAIL]
    return Outcome(
        False, response.status_code, f"{url} answered HTTP {response.status_code}: {body}"
    )


def _webhook(sink: WebhookSink, envelope: dict[str, Any], client: httpx.Client) -> Outcome:
    if sink.mode == "structured":
        headers = {"content-type": STRUCTURED, "ce-id": str(envelope["id"])}
        content = json.dumps(envelope).encode()
    else:
        headers = binary_headers(envelope)
        data = envelope.get("data")
        content = b"" if data is None else json.dumps(data).encode()
    headers.update(sink.headers)
    return _post(client, sink.url, content=content, headers=headers, timeout=_s(sink.timeout))


def slack_message(sink: SlackSink, envelope: dict[str, Any]) -> dict[str, Any]:
    """An incoming-webhook message: ``text`` (the fallback every client shows) and blocks."""
    data = envelope.get("data")
    if sink.text is not None:
        text = render(sink.text, envelope)
    else:
        text = f"{envelope.get('type')} {envelope.get('subject') or ''}".strip()
    fields = [
        {"type": "mrkdwn", "text": f"*{key}*\n{value}"}
        for key, value in (data.items() if isinstance(data, dict) else [])
        if isinstance(value, str | int | float | bool)
    ][:10]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"event {envelope['id']} from {envelope.get('source')}"}
            ],
        }
    )
    return {"text": text, "blocks": blocks}


def _slack(sink: SlackSink, envelope: dict[str, Any], client: httpx.Client) -> Outcome:
    headers = {"content-type": "application/json", "ce-id": str(envelope["id"])}
    content = json.dumps(slack_message(sink, envelope)).encode()
    return _post(client, sink.url, content=content, headers=headers, timeout=_s(sink.timeout))


def ticket_body(sink: TicketSink, envelope: dict[str, Any]) -> dict[str, Any]:
    """The generic ticket: title, description, labels, the idempotency key and the event."""
    title = (
        render(sink.title, envelope)
        if sink.title
        else (f"{envelope.get('type')}: {envelope.get('subject') or envelope['id']}")
    )
    description = json.dumps(envelope.get("data"), indent=2, sort_keys=True)
    return {
        "title": title,
        "description": description,
        "labels": list(sink.labels),
        "idempotency_key": str(envelope["id"]),
        "event": envelope,
    }


def _ticket(sink: TicketSink, envelope: dict[str, Any], client: httpx.Client) -> Outcome:
    headers = {
        "content-type": "application/json",
        "ce-id": str(envelope["id"]),
        "idempotency-key": str(envelope["id"]),
    }
    content = json.dumps(ticket_body(sink, envelope)).encode()
    return _post(client, sink.url, content=content, headers=headers, timeout=_s(sink.timeout))


# -- jobs and actions -----------------------------------------------------------------------------


def _command(sink: CommandSink, envelope: dict[str, Any], root: Path | None) -> Outcome:
    text = json.dumps(envelope)
    env = dict(os.environ)
    env.update(
        ROOST_EVENT=text,
        CE_ID=str(envelope["id"]),
        CE_TYPE=str(envelope.get("type", "")),
        CE_SUBJECT=str(envelope.get("subject") or ""),
    )
    try:
        done = subprocess.run(
            shlex.split(sink.run),
            input=text.encode(),
            capture_output=True,
            timeout=_s(sink.timeout),
            cwd=root,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        return Outcome(False, None, f"command not found: {shlex.split(sink.run)[0]}")
    except subprocess.TimeoutExpired:
        return Outcome(False, None, f"the command ran past its timeout ({sink.timeout})")
    except OSError as exc:
        return Outcome(False, None, f"the command could not start: {exc}")
    tail = (done.stdout + done.stderr).decode(errors="replace")[-_OUTPUT_TAIL:]
    if done.returncode == 0:
        return Outcome(True, 0, tail or None)
    return Outcome(False, done.returncode, f"exit code {done.returncode}: {tail}")


def _action(call: ActionCall, actions: ActionRunner | None) -> Outcome:
    if actions is None:
        return Outcome(False, None, f"no actions are available here to run {call.name!r}")
    try:
        summary = actions(call)
    except KeyError:
        return Outcome(False, None, f"there is no action called {call.name!r}")
    except ActionFailed as exc:
        return Outcome(False, None, f"action {call.name} failed: {exc}")
    return Outcome(True, None, summary)


def _s(value: Any) -> float:
    return float(value.total_seconds())
