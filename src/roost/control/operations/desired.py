"""roost.yaml is the desired state: re-read, validated completely, then applied.

:class:`DesiredState` is how the control plane takes a new roost.yaml, whether someone runs
``roost apply`` or the file changed on disk (:meth:`DesiredState.poll`, every few seconds): the
whole file is validated first — an invalid file is refused with its located problems and changes
nothing — then the plan against the project applied last is computed
(:mod:`roost.spec.planning`), the workspace's project is swapped (the SLO watcher, deploys and
``slo status`` read it from there), and the leader records the applied text in the store and an
audit event with the actor. The applied project outlives a restart: a new ``roost serve`` plans
against the store's record, so the plan shows what changed while it was down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from roost._util import event_catalog
from roost.control.fencing import Leader
from roost.control.workspace import Workspace
from roost.spec import Project, SpecError, load_project, parse_project
from roost.spec.planning import Plan, plan
from roost.store import AppliedProjectRecord, project_digest

log = logging.getLogger("roost.control")

POLL_INTERVAL = 2.0
"""Seconds between two looks at roost.yaml's modification time and size."""


@dataclass(frozen=True)
class Applied:
    """What one apply did: the plan, and the applied record (None when this process does not
    lead and so recorded nothing)."""

    plan: Plan
    record: AppliedProjectRecord | None
    digest: str


class DesiredState:
    """Applies roost.yaml to a workspace; thread-safe (one apply at a time)."""

    def __init__(
        self,
        ws: Workspace,
        *,
        leadership: Leader | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.ws = ws
        self.leadership = leadership
        self._say = say or log.info
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- applying -------------------------------------------------------------------------------

    def applied_project(self) -> Project | None:
        """The project applied last, from the store; None when nothing was, or when its text
        no longer validates under this roost (the next apply replaces it)."""
        record = self.ws.store.applied.latest()
        if record is None:
            return None
        try:
            return parse_project(record.text, filename="applied roost.yaml")
        except SpecError:
            return None

    def apply(self, *, actor: str) -> Applied:
        """Re-read and apply roost.yaml. Raises :class:`SpecError` (nothing changed) when the
        file is invalid."""
        with self._lock:
            path = self.ws.project_file
            signature = _signature(path)
            text = _read(path)
            project = parse_project(text, filename=str(path))
            changes = plan(self.applied_project(), project)
            self.ws.project = project
            self._seen = signature
            digest = project_digest(text)
            latest = self.ws.store.applied.latest()
            if latest is not None and latest.digest == digest:
                return Applied(changes, latest, digest)
            if self.leadership is not None and not self.leadership.leading:
                return Applied(changes, None, digest)  # the leader records; a follower only reads
            fence = self.leadership.fence if self.leadership is not None else None
            record = self.ws.store.applied.record(text, applied_by=actor, fence=fence)
            self.ws.store.events.append(
                event_catalog.PROJECT_APPLIED,
                source="roost/control",
                subject=project.project,
                data={"digest": digest, "summary": changes.summary(), "changes": changes.lines()},
                actor=actor,
                fence=fence,
            )
            return Applied(changes, record, digest)

    def poll(self) -> Applied | None:
        """Apply roost.yaml if it changed since it was last read (modification time or size);
        an invalid file is reported and left for the next change."""
        signature = _signature(self.ws.project_file)
        if signature == self._seen:
            return None
        try:
            applied = self.apply(actor="roost serve (roost.yaml changed)")
        except SpecError as exc:
            self._seen = signature  # report it once, not every interval
            self._say(
                f"roost.yaml changed but is invalid; still running the applied project:\n{exc}"
            )
            return None
        if not applied.plan.empty:
            lines = "\n".join(applied.plan.lines())
            self._say(f"roost.yaml changed: applied ({applied.plan.summary()})\n{lines}")
        return applied

    # -- the watch loop -------------------------------------------------------------------------

    def start(self, *, interval: float = POLL_INTERVAL) -> DesiredState:
        """Poll roost.yaml every ``interval`` seconds in a daemon thread until :meth:`stop`."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name="desired-state", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.poll()
            except Exception:  # the store busy or gone: try again next time
                log.exception("re-reading roost.yaml failed")

    def __repr__(self) -> str:
        running = self._thread is not None
        return f"DesiredState({str(self.ws.project_file)!r}, watching={running})"


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        load_project(path)  # raises the located SpecError for an unreadable file
        raise
