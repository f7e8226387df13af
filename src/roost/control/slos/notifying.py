"""Send the SLO loop's alerts to the receivers of roost.yaml's ``alerting:``.

Each round the SLO loop hands over the alerts firing now; per receiver:

* a **webhook** receiver has its own :class:`roost.alerts.Router` (grouping, group wait, group
  and repeat intervals, silences) whose due notifications go into an outbox, sent in order;
* an **alertmanager** receiver is posted the active alerts every round (Alertmanager groups and
  routes them itself, and resolves an alert that stops being posted after its
  ``resolve_timeout``); an alert that stopped firing is posted once with ``endsAt``.

Delivery never fails silently and never loses a notification on the first error: what could not
be delivered stays in the outbox (bounded: the oldest goes first when it overflows, and the
event says how many went) and is tried again next round. The first failure, and each change of
error or of the undelivered alerts, is a ``roost.alerts.delivery_failed`` event; the first
success after failures is one ``roost.alerts.delivered`` event. Deciding what is due is plain
data (:meth:`Notifier.prepare`); :meth:`Notifier.deliver` is the thin httpx edge.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from roost._util import event_catalog as events
from roost._util.redacting import redact_url
from roost.alerts import Alert, Notification, Route, Router, Silence
from roost.alerts.delivering import DeliveryError, forward, send
from roost.alerts.silences import silenced
from roost.spec import Alerting, Receiver

log = logging.getLogger("roost.control.slos.notifying")

DELIVERY_FAILED = events.ALERT_DELIVERY_FAILED
DELIVERED = events.ALERT_DELIVERED
TIMEOUT = 3.0
"""Seconds a receiver may take: a slow one delays the next SLO round by at most this."""
MAX_PENDING = 100
"""Undelivered notifications (or resolved alerts) kept per receiver."""

Record = Callable[[str, str, dict[str, Any]], None]
"""Append an event: ``(type, subject, data)``."""


def matches(labels: Mapping[str, str], match: Mapping[str, str]) -> bool:
    """Whether ``labels`` have every value of a receiver's ``match``."""
    return all(labels.get(k) == v for k, v in match.items())


def alert_key(labels: Mapping[str, str]) -> str:
    """``service/slo/tier``: how events name an alert."""
    return "/".join(labels.get(k, "?") for k in ("roost_service", "roost_slo", "tier"))


def shown_url(url: str) -> str:
    """A receiver's URL for events and messages: scheme, host and port only, because webhook
    paths often carry a token (chat and incident tools put it there)."""
    parts = urlsplit(url)
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return redact_url(f"{parts.scheme}://{parts.netloc}") + tail


def without_resolved(notification: Notification) -> Notification | None:
    """The notification without its resolved alerts (``send_resolved: false``), or ``None``
    when nothing fires in it."""
    payload = notification.payload
    alerts = [a for a in payload["alerts"] if a["status"] == "firing"]
    if not alerts:
        return None
    if len(alerts) == len(payload["alerts"]):
        return notification
    common = {
        k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)
    }
    return replace(notification, payload=payload | {"alerts": alerts, "commonLabels": common})


@dataclass
class _Outbox:
    """One receiver's delivery state (shared by both kinds)."""

    receiver: Receiver
    failing_since: datetime | None = None
    last_error: str | None = None
    last_delivered: datetime | None = None
    dropped: int = 0
    reported: tuple[str, tuple[str, ...]] | None = None

    @property
    def kind(self) -> str:
        return "webhook" if self.receiver.webhook else "alertmanager"

    def failed(
        self, error: str, keys: Sequence[str], *, pending: int, now: datetime
    ) -> dict[str, Any] | None:
        """The ``delivery_failed`` event's data when this failure is news, else ``None``."""
        error = error.replace(self.receiver.url, shown_url(self.receiver.url))
        if self.failing_since is None:
            self.failing_since = now
            log.warning("alert receiver %s: %s (retrying every round)", self.receiver.name, error)
        self.last_error = error
        state = (error, tuple(sorted(set(keys))))
        if state == self.reported:
            return None
        self.reported = state
        data = {
            "receiver": self.receiver.name,
            "kind": self.kind,
            "url": shown_url(self.receiver.url),
            "error": error,
            "alerts": list(state[1]),
            "pending": pending,
            "dropped": self.dropped,
            "failing_since": self.failing_since.isoformat(),
        }
        return data

    def succeeded(self, keys: Sequence[str], *, count: int, now: datetime) -> dict[str, Any] | None:
        """The ``delivered`` event's data when this success ends failures, else ``None``."""
        self.last_delivered = now
        if self.failing_since is None:
            return None
        data = {
            "receiver": self.receiver.name,
            "kind": self.kind,
            "url": shown_url(self.receiver.url),
            "alerts": sorted(set(keys)),
            "delivered": count,
            "dropped": self.dropped,
            "failing_since": self.failing_since.isoformat(),
            "failed_for_seconds": (now - self.failing_since).total_seconds(),
        }
        log.info("alert receiver %s: delivered again", self.receiver.name)
        self.failing_since, self.last_error, self.reported, self.dropped = None, None, None, 0
        return data

    def status(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver.name,
            "kind": self.kind,
            "url": shown_url(self.receiver.url),
            "last_delivered": self.last_delivered.isoformat() if self.last_delivered else None,
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
            "last_error": self.last_error,
        }


@dataclass
class _Webhook(_Outbox):
    router: Router = field(init=False)
    send_resolved: bool = True
    pending: deque[Notification] = field(default_factory=deque)

    def prepare(self, alerts: Iterable[Alert], silences: list[Silence], now: datetime) -> None:
        self.router.silences = silences
        self.router.observe([a for a in alerts if matches(a.labels, self.receiver.match)], now=now)
        for notification in self.router.flush(now=now):
            kept = notification if self.send_resolved else without_resolved(notification)
            if kept is not None:
                self.pending.append(kept)
        while len(self.pending) > MAX_PENDING:
            self.pending.popleft()
            self.dropped += 1

    @property
    def due(self) -> bool:
        return bool(self.pending)

    def deliver(self, client: httpx.Client, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        sent: list[str] = []
        count = 0
        while self.pending:
            head = self.pending[0]
            try:
                send(head, client=client)
            except DeliveryError as exc:
                keys = [alert_key(a["labels"]) for n in self.pending for a in n.payload["alerts"]]
                data = self.failed(str(exc), keys, pending=len(self.pending), now=now)
                return [(DELIVERY_FAILED, data)] if data else []
            self.pending.popleft()
            sent += [alert_key(a["labels"]) for a in head.payload["alerts"]]
            count += 1
        data = self.succeeded(sent, count=count, now=now)
        return [(DELIVERED, data)] if data else []


@dataclass
class _Alertmanager(_Outbox):
    active: dict[str, Alert] = field(default_factory=dict)
    ending: dict[str, Alert] = field(default_factory=dict)

    def prepare(self, alerts: Iterable[Alert], silences: list[Silence], now: datetime) -> None:
        active = {
            a.fingerprint: a
            for a in alerts
            if matches(a.labels, self.receiver.match) and not silenced(a.labels, silences, now)
        }
        for fp, alert in self.active.items():
            if fp not in active:
                self.ending[fp] = replace(alert, ends_at=now)
        for fp in active:
            self.ending.pop(fp, None)
        self.active = active
        while len(self.ending) > MAX_PENDING:
            del self.ending[next(iter(self.ending))]
            self.dropped += 1

    @property
    def due(self) -> bool:
        return bool(self.active or self.ending)

    def deliver(self, client: httpx.Client, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        batch = [*self.active.values(), *self.ending.values()]
        keys = [alert_key(a.labels) for a in batch]
        try:
            forward(batch, alertmanager=self.receiver.url, client=client)
        except DeliveryError as exc:
            data = self.failed(str(exc), keys, pending=len(batch), now=now)
            return [(DELIVERY_FAILED, data)] if data else []
        self.ending.clear()
        data = self.succeeded(keys, count=1, now=now)
        return [(DELIVERED, data)] if data else []


class Notifier:
    """The delivery state for one ``alerting:`` spec; :meth:`round` once per SLO round."""

    def __init__(self, alerting: Alerting, *, record: Record) -> None:
        self.alerting = alerting
        self._record = record
        self._last: dict[str, Alert] = {}
        self._outboxes: list[_Webhook | _Alertmanager] = []
        for receiver in alerting.receivers:
            if receiver.webhook is not None:
                box = _Webhook(receiver, send_resolved=alerting.send_resolved)
                box.router = Router(
                    Route(
                        receiver.name,
                        receiver.webhook,
                        group_by=tuple(alerting.group_by),
                        group_wait=alerting.group_wait,
                        group_interval=alerting.group_interval,
                        repeat_interval=alerting.repeat_interval,
                    )
                )
                self._outboxes.append(box)
            else:
                self._outboxes.append(_Alertmanager(receiver))

    def prepare(
        self,
        alerts: Mapping[str, Alert],
        *,
        firing: Iterable[str] = (),
        silences: list[Silence],
        now: datetime,
    ) -> bool:
        """Feed the receivers the alerts firing now; whether anything is due for delivery.

        ``alerts`` are the alerts evaluated as firing this round; ``firing`` names every alert
        that still fires, including those whose SLO could not be evaluated this round (unknown
        is not resolved: they keep the alert they had)."""
        current = dict(alerts)
        for key in firing:
            if key not in current and key in self._last:
                current[key] = self._last[key]
        self._last = current
        for box in self._outboxes:
            box.prepare(current.values(), silences, now)
        return any(box.due for box in self._outboxes)

    def deliver(self, *, now: datetime) -> None:
        """Try every receiver's due deliveries; failures stay queued and become events."""
        with httpx.Client(trust_env=False, timeout=TIMEOUT) as client:
            for box in self._outboxes:
                if not box.due:
                    continue
                for type_, data in box.deliver(client, now):
                    self._record(type_, box.receiver.name, data)

    def round(
        self,
        alerts: Mapping[str, Alert],
        *,
        firing: Iterable[str] = (),
        silences: list[Silence],
        now: datetime,
    ) -> None:
        """:meth:`prepare`, then :meth:`deliver` when anything is due."""
        if self.prepare(alerts, firing=firing, silences=silences, now=now):
            self.deliver(now=now)

    def status(self) -> list[dict[str, Any]]:
        """Per receiver: kind, URL (without its path), last delivery, current failure."""
        return [box.status() for box in self._outboxes]

    def __repr__(self) -> str:
        failing = sum(box.failing_since is not None for box in self._outboxes)
        return f"Notifier(receivers={len(self._outboxes)}, failing={failing})"
