"""The SLO loop inside ``roost serve``: evaluate every SLO every few seconds over the agent's
telemetry, keep the latest reports for the API, and record alert transitions as events.

Alert state lives in the events table, not in memory: each tier that starts firing appends a
``roost.slo.alert.firing`` event, each that stops a ``roost.slo.alert.resolved`` one (subject:
the service). A restarted (or newly elected) control plane reads the latest event per alert
before its first round, so an alert that was firing stays one alert with its original start
time instead of firing again. Only the leader writes; followers evaluate for their own API.

An SLO whose evaluation failed (agent down, bad tiers) keeps its alerts as they were: unknown is
neither firing anew nor resolved. Silences (``.roost/silences.json``, ``roost alerts silence``)
mute notifications and are shown next to the alert; they do not stop the events (the audit log
says what happened, silenced or not). The leader also hands each round's firing alerts to the
receivers of roost.yaml's ``alerting:`` (:mod:`roost.control.slos.notifying`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from roost._util import event_catalog as events
from roost.alerts import Alert, Silence, SilenceError
from roost.alerts import silences as silence_file
from roost.control.dataplane.agents import AgentClient
from roost.control.fencing import Leader
from roost.control.slos.notifying import Notifier
from roost.control.slos.reports import (
    AgentSliSource,
    SliCaller,
    evaluate,
    project_targets,
    slo_environment,
)
from roost.control.workspace import Workspace
from roost.slo import SloReport
from roost.slo.alerting import firing_tiers
from roost.store import StoreError

log = logging.getLogger("roost.control.slos.watching")

EVALUATE_EVERY = 10.0
"""Seconds between rounds: a twelfth of the shortest default alert window (5 min) would do;
ten seconds keeps detection well inside the workbook's times for any window."""
INTERVAL_ENV = "ROOST_SLO_INTERVAL"
"""Seconds between rounds instead of :data:`EVALUATE_EVERY` (for SLOs with windows of
minutes, where ten seconds is a large part of the detection time)."""
FIRING = events.SLO_ALERT_FIRING
RESOLVED = events.SLO_ALERT_RESOLVED
SILENCES_FILE = "silences.json"

AlertKey = tuple[str, str, str]
"""(service, SLO, tier)."""


@dataclass(frozen=True, slots=True)
class FiringAlert:
    """A tier that fires, since when, and the silences that mute it."""

    key: AlertKey
    severity: str
    since: datetime
    reason: str
    labels: dict[str, str]
    annotations: dict[str, str]
    silenced_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        service, slo, tier = self.key
        return {
            "service": service,
            "slo": slo,
            "tier": tier,
            "severity": self.severity,
            "since": self.since.isoformat(),
            "reason": self.reason,
            "labels": self.labels,
            "silenced_by": list(self.silenced_by),
        }


def evaluate_every() -> float:
    """:data:`EVALUATE_EVERY`, or ``$ROOST_SLO_INTERVAL`` when that is a positive number."""
    raw = os.environ.get(INTERVAL_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return EVALUATE_EVERY
    return value if value > 0 else EVALUATE_EVERY


def silences_path(ws: Workspace) -> Path:
    """Where ``roost alerts silence`` keeps silences."""
    return ws.state_dir / SILENCES_FILE


class SloWatcher:
    """Evaluates the project's SLOs; :meth:`start` runs rounds on a daemon thread."""

    def __init__(
        self,
        ws: Workspace,
        *,
        agent_dir: Path,
        leader: Leader | None = None,
        interval: float | None = None,
        connect: Callable[[], SliCaller] | None = None,
    ) -> None:
        self.ws = ws
        self.leader = leader
        self.interval = interval if interval is not None else evaluate_every()
        self._connect = connect or (lambda: AgentClient.for_project(agent_dir, timeout=5.0))
        self._lock = threading.Lock()
        self._reports: list[SloReport] = []
        self._at: datetime | None = None
        self._since: dict[AlertKey, datetime] | None = None  # None: not read from events yet
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._notifier: Notifier | None = None

    @property
    def leading(self) -> bool:
        return self.leader is None or self.leader.leading

    # -- evaluating -----------------------------------------------------------------------------

    def evaluate(self, *, service: str | None = None) -> list[SloReport]:
        """One evaluation against the agent, no side effects. An agent that is not running
        makes every report an error (the others' evaluation is not this one's business)."""
        targets = project_targets(self.ws.project, service=service)
        now = self.ws.clock.now()
        if not targets:
            return []
        try:
            agent = self._connect()
        except Exception as exc:  # no agent running: every SLO says so
            return evaluate(targets, _Down(str(exc)), now=now)
        try:
            project = self.ws.project
            source = AgentSliSource(
                agent, environment_of=lambda service: slo_environment(project, service)
            )
            return evaluate(targets, source, now=now)
        finally:
            close = getattr(agent, "close", None)
            if callable(close):
                close()

    def round(self) -> list[SloReport]:
        """Evaluate, remember the reports, and (leading) record alert transitions."""
        reports = self.evaluate()
        with self._lock:
            since = self._load_since()
            changes = self._transitions(reports, since)
            self._reports, self._at = reports, self.ws.clock.now()
        if self.leading:
            self._record(changes)
            self._notify(reports)
        return reports

    def reports(self, *, max_age: float | None = None) -> tuple[datetime, list[SloReport]]:
        """The latest round's reports and when it ran; evaluated now (without recording
        anything) when there are none or they are older than ``max_age`` seconds (default: two
        rounds) — e.g. when no loop runs."""
        limit = 2 * self.interval if max_age is None else max_age
        with self._lock:
            at, reports = self._at, self._reports
        now = self.ws.clock.now()
        if at is None or (now - at).total_seconds() > limit:
            return now, self.evaluate()
        return at, reports

    def since(self) -> dict[AlertKey, datetime]:
        """When each firing alert started (from the events table)."""
        with self._lock:
            return dict(self._load_since())

    def firing(self, reports: Sequence[SloReport]) -> list[FiringAlert]:
        """The firing tiers of ``reports`` as alerts, with start times and silences."""
        since = self.since()
        silences = self.silences()
        now = self.ws.clock.now()
        out = []
        for report, alert in _alerts(reports):
            key = (report.target.service, report.target.slo.name, alert.labels["tier"])
            muted = tuple(s.id for s in silences if s.active(now) and s.matches(alert.labels))
            out.append(
                FiringAlert(
                    key=key,
                    severity=alert.labels["severity"],
                    since=since.get(key, report.at),
                    reason=alert.annotations.get("description", ""),
                    labels=dict(alert.labels),
                    annotations=dict(alert.annotations),
                    silenced_by=muted,
                )
            )
        return out

    def silences(self) -> list[Silence]:
        """The silences file's silences (none when it is unreadable: logged, not fatal)."""
        try:
            return silence_file.load(silences_path(self.ws))
        except SilenceError as exc:
            log.warning("%s", exc)
            return []

    # -- alert state ----------------------------------------------------------------------------

    def _load_since(self) -> dict[AlertKey, datetime]:
        """Caller holds the lock. The firing alerts per the events table, read once."""
        if self._since is None:
            self._since = firing_from_events(self.ws)
        return self._since

    def _transitions(
        self, reports: Sequence[SloReport], since: dict[AlertKey, datetime]
    ) -> list[tuple[str, AlertKey, dict[str, Any]]]:
        """Caller holds the lock: update ``since`` and say which events to append."""
        changes: list[tuple[str, AlertKey, dict[str, Any]]] = []
        now = self.ws.clock.now()
        known = {(r.target.service, r.target.slo.name): r for r in reports}
        firing = {}
        for report in reports:
            for state in report.firing:
                key = (report.target.service, report.target.slo.name, state.tier.name)
                firing[key] = (report, state)
        for key, (report, state) in firing.items():
            if key in since:
                continue
            since[key] = now
            changes.append((FIRING, key, _data(key, state.tier.severity, state.reason, report)))
        for key in list(since):
            if key in firing:
                continue
            current = known.get((key[0], key[1]))
            if current is not None and current.error is not None:
                continue  # unknown is not resolved
            why = "no longer burning" if current is not None else "the SLO is gone from roost.yaml"
            if current is not None and not any(s.tier.name == key[2] for s in current.tiers):
                why = "the tier is gone from roost.yaml"
            started = since.pop(key)
            data = {
                "service": key[0],
                "slo": key[1],
                "tier": key[2],
                "reason": why,
                "since": started.isoformat(),
                "lasted_seconds": (now - started).total_seconds(),
            }
            changes.append((RESOLVED, key, data))
        return changes

    def _record(self, changes: Sequence[tuple[str, AlertKey, dict[str, Any]]]) -> None:
        fence = None if self.leader is None else self.leader.fence
        for type_, key, data in changes:
            try:
                self.ws.store.events.append(
                    type_, source=events.SOURCE_SLOS, subject=key[0], data=data, fence=fence
                )
            except StoreError as exc:
                log.warning("alert %s not recorded: %s", "/".join(key), exc)

    def _notify(self, reports: Sequence[SloReport]) -> None:
        """Leader only: send the firing alerts to roost.yaml's receivers (if any)."""
        alerting = self.ws.project.alerting
        if not alerting.receivers:
            self._notifier = None
            return
        if self._notifier is None or self._notifier.alerting != alerting:
            self._notifier = Notifier(alerting, record=self._record_delivery)
        alerts = {
            "/".join(f.key): Alert(f.labels, f.annotations, starts_at=f.since)
            for f in self.firing(reports)
        }
        firing = ["/".join(key) for key in self.since()]
        now = self.ws.clock.now()
        self._notifier.round(alerts, firing=firing, silences=self.silences(), now=now)

    def _record_delivery(self, type_: str, receiver: str, data: dict[str, Any]) -> None:
        fence = None if self.leader is None else self.leader.fence
        try:
            self.ws.store.events.append(
                type_, source=events.SOURCE_ALERTS, subject=receiver, data=data, fence=fence
            )
        except StoreError as exc:
            log.warning("%s for receiver %s not recorded: %s", type_, receiver, exc)

    def receivers(self) -> list[dict[str, Any]]:
        """Per receiver of ``alerting:``: its last delivery and current failure (empty until
        the leader's first round)."""
        notifier = self._notifier
        return [] if notifier is None else notifier.status()

    # -- the loop -------------------------------------------------------------------------------

    def start(self) -> SloWatcher:
        """Run :meth:`round` every ``interval`` seconds on a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slos", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leading:
                    self.round()
                else:
                    # A follower's view of what fires comes from the leader's events.
                    with self._lock:
                        self._since = None
            except Exception as exc:  # one bad round must not end SLO watching for good
                log.warning("SLO round failed: %s: %s", type(exc).__name__, exc)
            self._stop.wait(self.interval)

    def __repr__(self) -> str:
        state = "running" if self._thread is not None and self._thread.is_alive() else "idle"
        return f"SloWatcher({self.ws.project.project!r}, {state}, reports={len(self._reports)})"


def firing_from_events(ws: Workspace, *, limit: int = 5000) -> dict[AlertKey, datetime]:
    """The alerts whose latest event says firing, with their start times."""
    latest: dict[AlertKey, tuple[str, datetime]] = {}
    # Alerts recorded before the one prefix count too (roost.slo.alert.*): newest first.
    found = [
        e
        for p in events.with_legacy(events.SLO_ALERT)
        for e in ws.store.events.list(p, limit=limit)
    ]
    for event in sorted(found, key=lambda e: e.time, reverse=True):
        data = event.data if isinstance(event.data, dict) else {}
        key = (str(data.get("service")), str(data.get("slo")), str(data.get("tier")))
        if key not in latest:  # newest first: the first one seen is the latest
            latest[key] = (events.current_name(event.type), event.time)
    return {key: at for key, (type_, at) in latest.items() if type_ == FIRING}


def _alerts(reports: Sequence[SloReport]) -> list[tuple[SloReport, Alert]]:
    out = []
    for report in reports:
        for tier in firing_tiers([report]):
            out.append((report, Alert(labels=tier.labels, annotations=tier.annotations)))
    return out


def _data(key: AlertKey, severity: str, reason: str, report: SloReport) -> dict[str, Any]:
    return {
        "service": key[0],
        "slo": key[1],
        "tier": key[2],
        "severity": severity,
        "reason": reason,
        "objective": report.target.slo.objective,
        "budget_remaining": report.budget_remaining,
    }


class _Down:
    """An SLI source for when the agent cannot be reached: every question fails the same way."""

    def __init__(self, why: str) -> None:
        self._why = why

    def sli_counts(self, service: str, sli: Any, *, window: Any) -> tuple[float, float]:
        raise RuntimeError(f"{self._why} (start it with `roost up`)")
