"""Alerts and the Alertmanager webhook payload, version 4.

The shape is Alertmanager's ``webhook_config`` body, so any receiver written for Alertmanager
(chat bridges, incident tools) takes roost's notifications unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"
"""``endsAt`` of an alert that has not ended, as Alertmanager writes it."""


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable id of a label set (16 hex digits, like Alertmanager's)."""
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rfc3339(at: datetime) -> str:
    """UTC RFC 3339 with a ``Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: identified by its labels; ``ends_at`` is set once it resolved."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def fingerprint(self) -> str:
        """See :func:`fingerprint`."""
        return fingerprint(self.labels)

    @property
    def resolved(self) -> bool:
        """Whether it has ended."""
        return self.ends_at is not None

    def to_json(self) -> dict[str, Any]:
        """One element of the payload's ``alerts``."""
        return {
            "status": "resolved" if self.resolved else "firing",
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": rfc3339(self.starts_at) if self.starts_at else ZERO_TIME,
            "endsAt": rfc3339(self.ends_at) if self.ends_at else ZERO_TIME,
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }

    def to_alertmanager(self) -> dict[str, Any]:
        """The body element Alertmanager's ``POST /api/v2/alerts`` takes."""
        body: dict[str, Any] = {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "generatorURL": self.generator_url,
        }
        if self.starts_at:
            body["startsAt"] = rfc3339(self.starts_at)
        if self.ends_at:
            body["endsAt"] = rfc3339(self.ends_at)
        return body


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def webhook_payload(
    alerts: Sequence[Alert],
    *,
    receiver: str,
    group_labels: Mapping[str, str],
    group_key: str,
    external_url: str = "",
) -> dict[str, Any]:
    """The webhook body (version 4) for one group's notification."""
    firing = any(not a.resolved for a in alerts)
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": dict(group_labels),
        "commonLabels": _common([a.labels for a in alerts]),
        "commonAnnotations": _common([a.annotations for a in alerts]),
        "externalURL": external_url,
        "alerts": [a.to_json() for a in alerts],
    }
