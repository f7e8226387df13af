"""The I/O edge of alerting: POST notifications to webhooks, or alerts to an Alertmanager."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from roost.alerts.payloads import Alert
from roost.alerts.routing import Notification


class DeliveryError(Exception):
    """A receiver or Alertmanager did not take the notification."""


def send(notification: Notification, *, client: httpx.Client) -> None:
    """POST one webhook notification; :class:`DeliveryError` unless the receiver says 2xx."""
    try:
        response = client.post(notification.url, json=notification.payload)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {notification.url} is unreachable: {exc}") from None
    if not response.is_success:
        raise DeliveryError(f"webhook {notification.url} answered HTTP {response.status_code}")


def forward(alerts: Sequence[Alert], *, alertmanager: str, client: httpx.Client) -> None:
    """Post ``alerts`` to an Alertmanager's ``/api/v2/alerts`` (it groups and routes them).

    Alertmanager resolves an alert that stops being posted after its ``resolve_timeout``; a
    resolved alert posted with ``endsAt`` resolves at once.
    """
    url = alertmanager.rstrip("/") + "/api/v2/alerts"
    try:
        response = client.post(url, json=[a.to_alertmanager() for a in alerts])
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Alertmanager at {alertmanager} is unreachable: {exc}") from None
    if not response.is_success:
        raise DeliveryError(
            f"Alertmanager at {alertmanager} answered HTTP {response.status_code}: "
            f"{response.text.strip()[:200]}"
        )
