"""Rollouts: a persisted state machine per (service, environment) plus its timeline.

The store does not know the rollout states: the rollout domain decides them. It guarantees the
mechanics: every transition is compare-and-set on ``version`` (a writer that decided from stale
state gets :class:`Conflict` and nothing is written), timeline lines are appended in the same
transaction as the transition they explain, an ended rollout never changes state again, and at
most one rollout per (service, environment) is active at a time.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.clock import Clock
from roost.store._checks import json_object, require_text
from roost.store.connecting import Database
from roost.store.errors import Conflict, NotFound
from roost.store.fencing import check_fence
from roost.store.ids import new_id
from roost.store.records import Fence, RolloutRecord, TimelineEntry
from roost.store.resolving import resolve_id
from roost.store.tables import releases, rollout_timeline, rollouts

TimelineLines = Sequence[tuple[str, Mapping[str, Any] | None]]


class Rollouts:
    """The ``rollouts`` and ``rollout_timeline`` tables."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(
        self,
        service: str,
        environment: str,
        *,
        to_release: str,
        from_release: str | None = None,
        strategy: str,
        state: str = "pending",
        step: int = 0,
        data: Mapping[str, Any] | None = None,
        timeline: TimelineLines = (),
        fence: Fence | None = None,
    ) -> RolloutRecord:
        """Start a rollout of ``to_release`` (replacing ``from_release``) at version 1.

        :class:`NotFound` if a release does not exist; ``ValueError`` if it belongs to another
        service; :class:`Conflict` if the (service, environment) already has an active rollout.
        """
        require_text(service, "service", max_length=100)
        require_text(environment, "environment", max_length=100)
        require_text(strategy, "strategy", max_length=100)
        require_text(state, "state", max_length=100)
        lines = _timeline_lines(timeline)
        payload = json_object(data, "data")
        with self._db.writing() as conn:
            check_fence(conn, fence)
            for release_id in (to_release, from_release):
                if release_id is not None:
                    _check_release(conn, release_id, service)
            active = _active(conn, service, environment)
            if active is not None:
                raise Conflict(
                    f"{service} already has an active rollout in {environment}: {active.id} "
                    f"({active.state}); end it before starting another"
                )
            now = self._clock.now()
            row = conn.execute(
                sa.insert(rollouts)
                .values(
                    id=new_id(now),
                    service=service,
                    environment=environment,
                    from_release=from_release,
                    to_release=to_release,
                    strategy=strategy,
                    state=state,
                    step=step,
                    data=payload,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    ended_at=None,
                )
                .returning(*rollouts.c)
            ).one()
            _append(conn, row.id, now, lines)
        return RolloutRecord(**row._mapping)

    def get(self, rollout_id: str) -> RolloutRecord:
        """The rollout ``rollout_id``; :class:`NotFound` if there is none."""
        with self._db.reading() as conn:
            return _get(conn, rollout_id)

    def find(self, text: str) -> RolloutRecord:
        """The rollout that ``text`` names: its exact id, else a unique leading part of one
        (:mod:`roost.store.resolving`); :class:`NotFound` or :class:`Ambiguous` otherwise."""
        with self._db.reading() as conn:
            rollout_id = resolve_id(conn, rollouts.c.id, text, what="rollout", ulid=True)
            return _get(conn, rollout_id)

    def list(
        self,
        service: str | None = None,
        environment: str | None = None,
        *,
        active_only: bool = False,
        limit: int = 100,
    ) -> builtins.list[RolloutRecord]:
        """Rollouts, newest first."""
        query = sa.select(rollouts).order_by(rollouts.c.created_at.desc(), rollouts.c.id.desc())
        if service is not None:
            query = query.where(rollouts.c.service == service)
        if environment is not None:
            query = query.where(rollouts.c.environment == environment)
        if active_only:
            query = query.where(rollouts.c.ended_at.is_(None))
        with self._db.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [RolloutRecord(**row._mapping) for row in rows]

    def active(self, service: str, environment: str) -> RolloutRecord | None:
        """The unfinished rollout of ``service`` in ``environment``, if any."""
        with self._db.reading() as conn:
            return _active(conn, service, environment)

    def transition(
        self,
        rollout_id: str,
        *,
        expected_version: int,
        state: str,
        step: int | None = None,
        data: Mapping[str, Any] | None = None,
        ended: bool = False,
        timeline: TimelineLines = (),
        fence: Fence | None = None,
    ) -> RolloutRecord:
        """Move the rollout to ``state`` if it is still at ``expected_version``.

        ``step``/``data`` replace the stored values when given; ``ended=True`` finishes the
        rollout (no transitions after that). The timeline lines are appended in the same
        transaction. :class:`Conflict` (and nothing written) if the version moved on or the
        rollout has ended; :class:`NotFound` if it does not exist.
        """
        require_text(state, "state", max_length=100)
        lines = _timeline_lines(timeline)
        with self._db.writing() as conn:
            check_fence(conn, fence)
            now = self._clock.now()
            values: dict[str, Any] = {
                "state": state,
                "updated_at": now,
                "version": rollouts.c.version + 1,
            }
            if step is not None:
                values["step"] = step
            if data is not None:
                values["data"] = json_object(data, "data")
            if ended:
                values["ended_at"] = now
            row = conn.execute(
                sa.update(rollouts)
                .where(
                    rollouts.c.id == rollout_id,
                    rollouts.c.version == expected_version,
                    rollouts.c.ended_at.is_(None),
                )
                .values(**values)
                .returning(*rollouts.c)
            ).first()
            if row is None:
                current = _get(conn, rollout_id)
                if current.version != expected_version:
                    raise Conflict(
                        f"rollout {rollout_id} is at version {current.version} "
                        f"({current.state}), not {expected_version}: someone else moved it"
                    )
                raise Conflict(
                    f"rollout {rollout_id} has ended ({current.state}); it cannot change state"
                )
            _append(conn, rollout_id, now, lines)
        return RolloutRecord(**row._mapping)

    def append_timeline(
        self,
        rollout_id: str,
        kind: str,
        detail: Mapping[str, Any] | None = None,
        *,
        fence: Fence | None = None,
    ) -> TimelineEntry:
        """Append one line to a rollout's timeline without changing its state (allowed after
        the rollout ended, e.g. "canary scaled down" after an abort)."""
        lines = _timeline_lines([(kind, detail)])
        with self._db.writing() as conn:
            check_fence(conn, fence)
            _get(conn, rollout_id)
            (entry,) = _append(conn, rollout_id, self._clock.now(), lines)
        return entry

    def timeline(self, rollout_id: str) -> builtins.list[TimelineEntry]:
        """The rollout's timeline, oldest first; :class:`NotFound` if the rollout does not
        exist."""
        with self._db.reading() as conn:
            _get(conn, rollout_id)
            rows = conn.execute(
                sa.select(rollout_timeline)
                .where(rollout_timeline.c.rollout_id == rollout_id)
                .order_by(rollout_timeline.c.id)
            ).all()
        return [TimelineEntry(**row._mapping) for row in rows]

    def __repr__(self) -> str:
        return f"Rollouts({self._db.redacted_url!r})"


def _get(conn: Connection, rollout_id: str) -> RolloutRecord:
    row = conn.execute(sa.select(rollouts).where(rollouts.c.id == rollout_id)).first()
    if row is None:
        raise NotFound(f"no rollout {rollout_id!r}")
    return RolloutRecord(**row._mapping)


def _active(conn: Connection, service: str, environment: str) -> RolloutRecord | None:
    row = conn.execute(
        sa.select(rollouts).where(
            rollouts.c.service == service,
            rollouts.c.environment == environment,
            rollouts.c.ended_at.is_(None),
        )
    ).first()
    return None if row is None else RolloutRecord(**row._mapping)


def _check_release(conn: Connection, release_id: str, service: str) -> None:
    owner = conn.execute(
        sa.select(releases.c.service).where(releases.c.id == release_id)
    ).scalar_one_or_none()
    if owner is None:
        raise NotFound(f"no release {release_id!r}")
    if owner != service:
        raise ValueError(f"release {release_id!r} belongs to {owner!r}, not {service!r}")


def _timeline_lines(lines: TimelineLines) -> list[tuple[str, dict[str, Any]]]:
    checked = []
    for kind, detail in lines:
        require_text(kind, "timeline kind", max_length=100)
        checked.append((kind, json_object(detail, f"timeline detail of {kind!r}")))
    return checked


def _append(
    conn: Connection, rollout_id: str, at: datetime, lines: list[tuple[str, dict[str, Any]]]
) -> list[TimelineEntry]:
    entries = []
    for kind, detail in lines:
        # One INSERT per line, in order: ids then follow the order the caller gave.
        row = conn.execute(
            sa.insert(rollout_timeline)
            .values(rollout_id=rollout_id, at=at, kind=kind, detail=detail)
            .returning(*rollout_timeline.c)
        ).one()
        entries.append(TimelineEntry(**row._mapping))
    return entries
