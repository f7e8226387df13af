"""Where the control plane's SLO alerts go: webhook receivers (Alertmanager webhook format,
version 4) and Alertmanagers, with Alertmanager's grouping and timing settings.

The label names are the ones roost's alerts carry (and the exported Prometheus rules' alerts
too): a ``match`` or ``group_by`` on any other label would never match, so it is an error here
rather than a receiver that silently gets nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import KEY, Issue, did_you_mean, issue_error, issues_error
from roost.spec.durations import Duration, PositiveDuration
from roost.spec.fields import Name, describe

ALERT_LABELS = ("alertname", "roost_service", "roost_slo", "severity", "tier")
"""The labels of every SLO alert (``roost.slo.alerting.firing_tiers`` sets them)."""


def _http_url(value: Any) -> Any:
    if not isinstance(value, str):
        raise issue_error(f"expected a URL, got {describe(value)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise issue_error(f"{describe(value)} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise issue_error(
            f"{describe(value)} is not an http or https URL",
            hint="write e.g. https://hooks.example.com/roost",
        )
    if not parts.hostname:
        raise issue_error(f"{describe(value)} has no host", hint="write e.g. http://127.0.0.1:9093")
    return value


HttpUrl = Annotated[
    str,
    BeforeValidator(_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://"}),
]
"""An ``http://`` or ``https://`` URL with a host, kept as written."""


def _label(value: Any) -> Any:
    if isinstance(value, str) and value not in ALERT_LABELS:
        raise issue_error(
            f"{describe(value)} is not a label of roost's alerts",
            hint=did_you_mean(value, ALERT_LABELS, listing="the labels are"),
        )
    return value


AlertLabel = Annotated[
    str, BeforeValidator(_label), WithJsonSchema({"type": "string", "enum": list(ALERT_LABELS)})
]


class Receiver(SpecModel):
    """One destination: exactly one of ``webhook`` and ``alertmanager``."""

    name: Name = Field(description="Unique among the receivers; shown in events and payloads.")
    webhook: HttpUrl | None = Field(
        default=None,
        description="POST Alertmanager webhook (version 4) notifications here, grouped and "
        "timed by the settings below.",
    )
    alertmanager: HttpUrl | None = Field(
        default=None,
        description="Base URL of an Alertmanager: the active alerts are posted to its "
        "/api/v2/alerts every round; it groups and routes them with its own configuration.",
    )
    match: dict[AlertLabel, str] = Field(
        default_factory=dict,
        description="Only alerts whose labels have all these values (exact); default: all.",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_destination(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        present = [k for k in ("webhook", "alertmanager") if data.get(k) is not None]
        if not present:
            raise issue_error(
                "a receiver needs a webhook or an alertmanager URL",
                hint="e.g. `webhook: https://hooks.example.com/roost`",
            )
        if len(present) > 1:
            raise issue_error(
                "a receiver has exactly one of webhook or alertmanager, found both",
                at=("alertmanager", KEY),
                hint="use a separate receiver for each",
            )
        return data

    @property
    def url(self) -> str:
        """The webhook's or the Alertmanager's URL."""
        url = self.webhook or self.alertmanager
        assert url is not None  # guaranteed by validation
        return url


class Alerting(SpecModel):
    """Alert receivers, and how webhook notifications are grouped and timed (Alertmanager's
    route settings, same meanings and defaults)."""

    receivers: list[Receiver] = Field(
        default_factory=list, description="Where alerts go; none: they are only recorded."
    )
    group_by: list[AlertLabel] = Field(
        default_factory=lambda: ["alertname", "roost_service"],
        description="Alerts with the same values of these labels go out in one notification "
        "([]: all alerts in one).",
    )
    group_wait: Duration = Field(
        default=timedelta(seconds=30),
        description="How long a new group waits for more alerts before its first notification.",
    )
    group_interval: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="How long a group waits before notifying about alerts that were added to "
        "it or resolved.",
    )
    repeat_interval: PositiveDuration = Field(
        default=timedelta(hours=4),
        description="How long before an unchanged, still-firing group is notified again.",
    )
    send_resolved: bool = Field(
        default=True, description="Whether webhooks are also told when alerts resolve."
    )

    @model_validator(mode="after")
    def _unique(self) -> Alerting:
        issues: list[Issue] = []
        seen: dict[str, int] = {}
        for i, receiver in enumerate(self.receivers):
            if receiver.name in seen:
                issues.append(
                    Issue(
                        f"receiver name {receiver.name!r} is used twice",
                        ("receivers", i, "name"),
                        related=("receivers", seen[receiver.name], "name"),
                    )
                )
            seen.setdefault(receiver.name, i)
        if issues:
            raise issues_error(issues)
        return self
