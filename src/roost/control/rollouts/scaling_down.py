"""Scaling down after a rollout ended: the replaced (or failed) revision stops only once its
delay has passed — traffic moved first, in the decision itself.

The pending scale-down is part of the ended rollout's persisted state (``scale_down``,
``scale_down_at``), and done ones get a ``scaled_down`` timeline line, so a restarted control
plane still performs the ones that were pending and repeats none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from roost.clock import Clock
from roost.control.dataplane.protocol import AgentApi
from roost.control.rollouts.observing import (
    AgentState,
    environment_view,
    revisions_of,
    weights_of,
)
from roost.control.rollouts.requests import load_state
from roost.store import Fence, RolloutRecord, Store

log = logging.getLogger("roost.control.rollouts.executor")

RECENT = 200
"""Ended rollouts looked at for pending scale-downs (the newest; older ones are long done)."""
_DONE = ("scaled_down", "scale_down_skipped")


class ScaleDowns:
    """Performs the pending scale-downs of ended rollouts when their time has come."""

    def __init__(self, store: Store, *, clock: Clock, fence: Callable[[], Fence | None]) -> None:
        self._store = store
        self._clock = clock
        self._fence = fence
        self._settled: set[str] = set()  # rollouts with no scale-down left to do
        self._checked: set[str] = set()  # rollouts whose timeline was read once

    def sweep(self, agent: AgentApi, view: AgentState, *, active: Sequence[RolloutRecord]) -> None:
        """Stop every revision whose scale-down is due, unless it carries traffic again or an
        active rollout uses it (a rollback to it started within the delay)."""
        now = self._clock.now()
        in_use = {
            (r.environment, r.service, rev)
            for r in active
            for rev in (r.to_release, r.from_release)
        }
        for record in self._store.rollouts.list(limit=RECENT):
            if record.active or record.id in self._settled:
                continue
            state = load_state(record)
            if state is None or state.scale_down is None or state.scale_down_at is None:
                self._settled.add(record.id)
                continue
            if record.id not in self._checked:
                self._checked.add(record.id)
                if any(e.kind in _DONE for e in self._store.rollouts.timeline(record.id)):
                    self._settled.add(record.id)
                    continue
            if now < state.scale_down_at:
                continue
            revision = state.scale_down
            kind, detail = "scaled_down", {"revision": revision}
            # Only the rollout's own environment: the same release may run elsewhere.
            here = environment_view(view, record.environment)
            if revision not in revisions_of(here, record.service):
                detail["note"] = "it was not running any more"
            elif weights_of(here, record.service).get(revision, 0) > 0 or (
                (record.environment, record.service, revision) in in_use
            ):
                kind, detail["why"] = "scale_down_skipped", "it serves traffic again"
            else:
                agent.in_environment(record.environment).stop_revision(record.service, revision)
                log.info("rollout %s: stopped %s/%s", record.id, record.service, revision)
            self._store.rollouts.append_timeline(record.id, kind, detail, fence=self._fence())
            self._settled.add(record.id)

    def __repr__(self) -> str:
        return f"ScaleDowns(settled={len(self._settled)})"
