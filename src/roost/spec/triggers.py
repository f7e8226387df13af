"""``triggers:`` and ``event_bus:`` in roost.yaml: which events go where.

A trigger filters the bus's CloudEvents with the CloudEvents Subscriptions API's filter
dialects (``exact``, ``prefix``, ``suffix``, ``all``, ``any``, ``not``; ``sql`` is not
supported) and delivers each match to exactly one sink: a webhook (CloudEvents binary or
structured mode), a Slack-compatible webhook, a ticket webhook, a command run as a job, or a
roost action. Filters name CloudEvents attributes (``type``, ``source``, ``subject``, ``id``,
extensions such as ``correlationid``) or data fields as ``data.<field>[.<field>...]``; values
are compared as strings, as the Subscriptions API compares attributes.

Deliveries are at least once, retried with exponential backoff and jitter until ``retry``
gives up, then dead-lettered (``roost events dlq``); ``guard`` bounds automation chains.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import did_you_mean, issue_error
from roost.spec.actions import ACTION_PARAMS
from roost.spec.alerting import HttpUrl
from roost.spec.durations import Duration, PositiveDuration
from roost.spec.fields import Name, describe

FILTER_DIALECTS = ("exact", "prefix", "suffix", "all", "any", "not")
_ATTRIBUTE = re.compile(r"^(?:[a-z0-9]{1,20}|data(?:\.[A-Za-z0-9_\-]+)+)$")


def _filter_value(value: Any) -> Any:
    # YAML reads `severity: 9` as a number and `enabled: yes` as a bool; the Subscriptions API
    # compares strings, so the value means what it says as text.
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


def _attributes(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if not value:
        raise issue_error("a filter needs at least one attribute", hint="e.g. type: dev.roost.x")
    for key in value:
        if not isinstance(key, str) or not _ATTRIBUTE.fullmatch(key):
            raise issue_error(
                f"{describe(key)} is not a CloudEvents attribute or data field",
                hint="use an attribute name (type, source, subject, id, an extension in "
                "lowercase letters and digits) or data.<field>, e.g. data.severity",
            )
    return value


FilterValue = Annotated[str, BeforeValidator(_filter_value)]
Attributes = Annotated[
    dict[str, FilterValue],
    BeforeValidator(_attributes),
    WithJsonSchema(
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        }
    ),
]


class Filter(SpecModel):
    """One filter expression: exactly one dialect."""

    exact: Attributes | None = Field(
        default=None, description="Each attribute equals its value (case-sensitive)."
    )
    prefix: Attributes | None = Field(
        default=None, description="Each attribute starts with its value."
    )
    suffix: Attributes | None = Field(
        default=None, description="Each attribute ends with its value."
    )
    all: list[Filter] | None = Field(default=None, description="Every nested filter matches.")
    any: list[Filter] | None = Field(
        default=None, description="At least one nested filter matches."
    )
    not_: Filter | None = Field(default=None, alias="not", description="The nested filter fails.")

    @model_validator(mode="after")
    def _one_dialect(self) -> Filter:
        chosen = [name for name in FILTER_DIALECTS if getattr(self, _field(name)) is not None]
        if len(chosen) != 1:
            raise issue_error(
                "a filter is exactly one of "
                + ", ".join(FILTER_DIALECTS)
                + (f" (this one has {', '.join(chosen)})" if chosen else ""),
                hint="nest several under all: or any:",
            )
        for name in ("all", "any"):
            nested = getattr(self, name)
            if nested is not None and not nested:
                raise issue_error(f"{name}: needs at least one filter")
        return self


def _field(dialect: str) -> str:
    return "not_" if dialect == "not" else dialect


class WebhookSink(SpecModel):
    """POST the event as a CloudEvent."""

    url: HttpUrl = Field(description="Where to POST.")
    mode: Literal["binary", "structured"] = Field(
        default="binary",
        description="CloudEvents HTTP binding: binary (attributes in ce-* headers, data as the "
        "body) or structured (the whole event as application/cloudevents+json).",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    timeout: PositiveDuration = Field(default=timedelta(seconds=10), description="Per attempt.")


class SlackSink(SpecModel):
    """POST a Slack-compatible message (``text`` plus blocks) to an incoming webhook."""

    url: HttpUrl = Field(description="The incoming webhook's URL.")
    text: str | None = Field(
        default=None,
        description="The message; ${type}, ${subject}, ${source}, ${id} and ${data.field} are "
        "replaced. Default: the event's type, subject and data.",
    )
    timeout: PositiveDuration = Field(default=timedelta(seconds=10), description="Per attempt.")


class TicketSink(SpecModel):
    """POST a ticket (title, description, labels, idempotency key) to a ticket webhook."""

    url: HttpUrl = Field(description="The ticket system's webhook.")
    title: str | None = Field(
        default=None, description="The ticket title (same ${...} fields as slack.text)."
    )
    labels: list[str] = Field(default_factory=list, description="Labels for the ticket.")
    timeout: PositiveDuration = Field(default=timedelta(seconds=10), description="Per attempt.")


class CommandSink(SpecModel):
    """Run a command as a job, the event as JSON on its standard input and in ROOST_EVENT."""

    run: str = Field(min_length=1, description="The command line (no shell).")
    timeout: PositiveDuration = Field(default=timedelta(minutes=1), description="Per attempt.")


class ActionSink(SpecModel):
    """Run a roost action (``quarantine``, ``scale``, ...) with parameters."""

    name: str = Field(min_length=1, max_length=100, description="The action's name.")
    with_: dict[str, Any] = Field(
        default_factory=dict,
        alias="with",
        description="Its parameters; ${subject}, ${data.field}, ... are replaced in strings.",
    )

    @model_validator(mode="after")
    def _known(self) -> ActionSink:
        if self.name not in ACTION_PARAMS:
            raise issue_error(
                f"there is no action called {self.name!r}",
                hint=did_you_mean(self.name, list(ACTION_PARAMS), listing="actions are"),
            )
        model = ACTION_PARAMS[self.name]
        for key in self.with_:
            if key not in model.model_fields:
                raise issue_error(
                    f"action {self.name} has no parameter {key!r}",
                    hint=did_you_mean(key, list(model.model_fields), listing="its parameters are"),
                )
        missing = [
            k for k, f in model.model_fields.items() if f.is_required() and k not in self.with_
        ]
        if missing:
            raise issue_error(f"action {self.name} needs {', '.join(missing)}")
        # Parameters that take an event's fields (${subject}) are checked at delivery, when
        # they are known; a trigger without any is checked whole now.
        if not _templated(self.with_):
            model.model_validate(self.with_)
        return self


def _templated(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False


class Retry(SpecModel):
    """Exponential backoff with jitter, until ``max_attempts`` or ``max_age``."""

    max_attempts: int = Field(default=5, ge=1, le=100, description="Attempts in all.")
    backoff: PositiveDuration = Field(
        default=timedelta(seconds=1), description="Delay before the second attempt; doubles."
    )
    max_backoff: PositiveDuration = Field(
        default=timedelta(minutes=5), description="The longest delay between attempts."
    )
    jitter: float = Field(
        default=0.2, ge=0, le=1, description="Each delay varies by up to this fraction."
    )
    max_age: PositiveDuration = Field(
        default=timedelta(hours=1),
        description="Give up (dead-letter) once the delivery is this old, attempts or not.",
    )


class Guard(SpecModel):
    """Loop guards: a trigger that trips one is suspended, with an event saying why."""

    max_depth: int = Field(
        default=3,
        ge=0,
        le=50,
        description="The longest automation chain (trigger → action → event → trigger ...) "
        "this trigger reacts at the end of.",
    )
    max_rate: int | None = Field(
        default=None, ge=1, description="At most this many deliveries per rate_window."
    )
    rate_window: PositiveDuration = Field(
        default=timedelta(minutes=1), description="The window of max_rate."
    )
    cooldown: Duration = Field(
        default=timedelta(0),
        description="The shortest time between two deliveries of one correlated chain.",
    )


SINKS = ("webhook", "slack", "ticket", "command", "action")


class Trigger(SpecModel):
    """Deliver the events that pass ``filters`` to one sink."""

    name: Name = Field(description="Unique among the triggers; the DLQ and metrics use it.")
    description: str | None = Field(default=None, description="What it is for, for people.")
    filters: list[Filter] = Field(
        default_factory=list,
        description="All must match (Subscriptions API semantics); none: every event.",
    )
    webhook: WebhookSink | None = Field(default=None, description="A CloudEvents webhook.")
    slack: SlackSink | None = Field(default=None, description="A Slack-compatible webhook.")
    ticket: TicketSink | None = Field(default=None, description="A ticket webhook.")
    command: CommandSink | None = Field(default=None, description="A command run as a job.")
    action: ActionSink | None = Field(default=None, description="A roost action.")
    retry: Retry = Field(default_factory=Retry, description="When to retry, when to give up.")
    guard: Guard = Field(default_factory=Guard, description="Loop guards.")

    @model_validator(mode="after")
    def _one_sink(self) -> Trigger:
        chosen = [name for name in SINKS if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise issue_error(
                "a trigger delivers to exactly one of "
                + ", ".join(SINKS)
                + (f" (this one has {', '.join(chosen)})" if chosen else ""),
                hint="write a second trigger with the same filters for a second sink",
            )
        return self

    @property
    def sink_kind(self) -> str:
        return next(name for name in SINKS if getattr(self, name) is not None)


def _nats_url(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^(nats|tls)://[^/\s]+$", value):
        raise issue_error(
            f"{describe(value)} is not a NATS URL", hint="write e.g. nats://127.0.0.1:4222"
        )
    return value


class EventBus(SpecModel):
    """Where roost's events are published: the state store's outbox, or NATS JetStream."""

    backend: Literal["outbox", "jetstream"] = Field(
        default="outbox",
        description="outbox: the state store (nothing to run); jetstream: a NATS server.",
    )
    url: Annotated[str | None, BeforeValidator(_nats_url)] = Field(
        default=None, description="The NATS server (jetstream only), e.g. nats://127.0.0.1:4222."
    )
    stream: str = Field(
        default="ROOST_EVENTS",
        pattern=r"^[A-Za-z0-9_\-]{1,64}$",
        description="The JetStream stream's name.",
    )

    @model_validator(mode="after")
    def _url_for_jetstream(self) -> EventBus:
        if self.backend == "jetstream" and self.url is None:
            raise issue_error("backend jetstream needs url", hint="e.g. url: nats://127.0.0.1:4222")
        if self.backend == "outbox" and self.url is not None:
            raise issue_error("url is for backend jetstream", hint="remove url or set backend")
        return self
