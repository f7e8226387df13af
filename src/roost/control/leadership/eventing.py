"""The event dispatcher as one of the leader's duties: triggers deliver while, and only while,
this process leads the control plane. Two control planes delivering at once would double every
webhook; a follower leaves the bus alone and takes over from the stored positions.

Opening the bus (a JetStream connection) can take seconds, so it happens on this module's own
thread, not on the election's callback. roost.yaml is desired state: when an apply changes the
triggers or the bus (``DesiredState`` replaces ``ws.project``), the dispatcher is rebuilt with
them within a few seconds; the positions and deliveries in the store carry over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from roost.control.leadership.leading import LeadershipGate
from roost.control.workspace import Workspace
from roost.events.bus import BusError
from roost.events.dispatching import Dispatcher
from roost.events.opening import open_bus
from roost.events.relaying import Relay
from roost.events.sinks import ActionRunner
from roost.store import Fence, StoreError

log = logging.getLogger("roost.control.leadership.eventing")


class EventDuty:
    """Runs a :class:`~roost.events.dispatching.Dispatcher` for ``ws``'s triggers while the
    gate says this process leads."""

    def __init__(
        self,
        ws: Workspace,
        gate: LeadershipGate,
        *,
        actions: ActionRunner | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.ws = ws
        self.gate = gate
        self.actions = actions
        self._say = say or (lambda message: log.info("%s", message))
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._leading = False
        self.dispatcher: Dispatcher | None = None
        self._built_from: tuple[object, object] | None = None
        self._thread = threading.Thread(target=self._run, name="event-duty", daemon=True)

    def start(self) -> EventDuty:
        self._thread.start()
        self.gate.on_started_leading(self._started)
        self.gate.on_stopped_leading(self._stopped)
        return self

    def _started(self, fence: Fence) -> None:
        with self._lock:
            self._leading = True
        self._kick.set()

    def _stopped(self) -> None:
        with self._lock:
            self._leading = False
        self._kick.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(5.0)
            self._kick.clear()
            with self._lock:
                leading = self._leading
            wanted = (self.ws.project.triggers, self.ws.project.event_bus)
            if self.dispatcher is not None and (not leading or wanted != self._built_from):
                self._close()
            if leading and self.dispatcher is None and not self._stop.is_set():
                self._open()

    def _open(self) -> None:
        project = self.ws.project
        self._built_from = (project.triggers, project.event_bus)
        if not project.triggers and project.event_bus.backend == "outbox":
            return  # nothing subscribes: the outbox keeps the events for when something does
        try:
            bus = open_bus(project.event_bus, self.ws.store)
            relay = Relay(self.ws.store, bus) if bus.kind != "outbox" else None
            self.dispatcher = Dispatcher(
                self.ws.store,
                bus,
                project.triggers,
                clock=self.ws.clock,
                root=self.ws.root,
                actions=self.actions,
                relay=relay,
            ).start()
        except (BusError, StoreError) as exc:
            self._say(f"event triggers are not running (trying again in a few seconds): {exc}")
            self._built_from = None
            return
        names = ", ".join(sorted(self.dispatcher.triggers)) or "none"
        self._say(f"event bus: {bus.kind}; triggers delivering: {names}")

    def _close(self) -> None:
        dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is not None:
            dispatcher.stop()
            dispatcher.bus.close()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        self._thread.join(10.0)
        self._close()

    def __repr__(self) -> str:
        return f"EventDuty(dispatcher={self.dispatcher!r})"
