"""Grouping, group wait, group interval, repeat interval and silences — Alertmanager's
notification pipeline, pure and driven by the ``now`` its caller passes.

Feed :meth:`Router.observe` the complete set of alerts firing now (an alert that is no longer in
the set resolves); :meth:`Router.flush` returns the notifications due at ``now``:

* a new group waits ``group_wait`` so that alerts firing together arrive together;
* a group whose alerts changed (new, resolved) notifies again after ``group_interval``;
* an unchanged, still-firing group repeats after ``repeat_interval``;
* resolved alerts go out once with ``status: resolved``; then the group is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from roost.alerts.payloads import Alert, webhook_payload
from roost.alerts.silences import Silence, silenced


@dataclass(frozen=True, slots=True)
class Route:
    """Where and how often: Alertmanager's route settings for one receiver."""

    receiver: str
    url: str
    group_by: tuple[str, ...] = ("alertname", "roost_service")
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Notification:
    """One webhook POST to make: ``payload`` is the version-4 body."""

    url: str
    payload: dict[str, Any]


@dataclass
class _Group:
    labels: dict[str, str]
    created: datetime
    alerts: dict[str, Alert] = field(default_factory=dict)
    sent_at: datetime | None = None
    sent: frozenset[tuple[str, bool]] = frozenset()


class Router:
    """The notification state for one :class:`Route`; ``silences`` mute matching alerts."""

    def __init__(self, route: Route, *, external_url: str = "") -> None:
        self.route = route
        self.external_url = external_url
        self.silences: list[Silence] = []
        self._groups: dict[tuple[tuple[str, str], ...], _Group] = {}

    def observe(self, firing: Iterable[Alert], *, now: datetime) -> None:
        """Replace the set of firing alerts with ``firing``; absent ones resolve at ``now``."""
        seen: set[str] = set()
        for alert in firing:
            key = tuple((k, alert.labels.get(k, "")) for k in self.route.group_by)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(labels=dict(key), created=now)
            old = group.alerts.get(alert.fingerprint)
            starts = old.starts_at if old is not None and not old.resolved else None
            group.alerts[alert.fingerprint] = replace(
                alert, starts_at=starts or alert.starts_at or now, ends_at=None
            )
            seen.add(alert.fingerprint)
        for group in self._groups.values():
            for fp, alert in list(group.alerts.items()):
                if fp not in seen and not alert.resolved:
                    group.alerts[fp] = replace(alert, ends_at=now)

    def flush(self, *, now: datetime) -> list[Notification]:
        """The notifications due at ``now`` (and the state advanced as if they were sent)."""
        out: list[Notification] = []
        for key, group in list(self._groups.items()):
            visible = [
                a for a in group.alerts.values() if not silenced(a.labels, self.silences, now)
            ]
            state = frozenset((a.fingerprint, a.resolved) for a in visible)
            firing = any(not a.resolved for a in visible)
            if group.sent_at is None:
                due = firing and now >= group.created + self.route.group_wait
            elif state != group.sent:
                due = now >= group.sent_at + self.route.group_interval
            else:
                due = firing and now >= group.sent_at + self.route.repeat_interval
            if due and (firing or group.sent_at is not None):
                out.append(self._notify(key, group, visible))
                group.sent_at, group.sent = now, state
            # Forget resolved alerts once they have been told (or were never worth telling).
            if due or group.sent_at is None:
                for fp in [fp for fp, a in group.alerts.items() if a.resolved]:
                    del group.alerts[fp]
                group.sent = frozenset(s for s in group.sent if not s[1])
            if not group.alerts:
                del self._groups[key]
        return out

    def _notify(
        self, key: tuple[tuple[str, str], ...], group: _Group, alerts: Sequence[Alert]
    ) -> Notification:
        ordered = sorted(alerts, key=lambda a: (a.resolved, sorted(a.labels.items())))
        payload = webhook_payload(
            ordered,
            receiver=self.route.receiver,
            group_labels=group.labels,
            group_key="{}:" + "{" + ",".join(f'{k}="{v}"' for k, v in key) + "}",
            external_url=self.external_url,
        )
        return Notification(self.route.url, payload)

    def active(self) -> list[Alert]:
        """Alerts currently tracked (firing or resolved but not yet told), by group."""
        return [a for g in self._groups.values() for a in g.alerts.values()]

    def __repr__(self) -> str:
        return f"Router({self.route.receiver!r}, groups={len(self._groups)})"
