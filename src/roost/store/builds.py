"""Builds: one row per pipeline run (``web-b12``, numbered per service) and one per step.

The store does not decide anything about a build; it keeps the record honest:

- a build is created together with all of its steps (``pending``) in one transaction;
- each step transition is one transaction, and a step that already ended never changes again;
- :meth:`Builds.finish` ends the build and, in the same transaction, settles every step that
  did not get to run (``pending`` → ``skipped``, ``running`` → ``cancelled``), so the history
  never shows a finished build with a step still "running";
- a finished build never changes state again (a second finisher gets :class:`Conflict`).

Cancellation is a request: :meth:`Builds.request_cancel` sets a flag that the runner polls,
because the runner may be another process (a build started by the git hook).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.clock import Clock
from roost.store._checks import json_object, require_text
from roost.store.connecting import Database
from roost.store.counters import next_value
from roost.store.errors import Conflict, NotFound
from roost.store.resolving import resolve_id
from roost.store.tables import build_steps, builds

BUILD_SEQ = "build"
RUNNING = "running"
BUILD_STATES = (RUNNING, "succeeded", "failed", "cancelled", "timed_out", "lost")
STEP_STATES = (
    "pending",
    "running",
    "succeeded",
    "cached",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
)
_STEP_DONE = frozenset(STEP_STATES) - {"pending", "running"}


@dataclass(frozen=True, slots=True)
class BuildStepRecord:
    """One step of a build. ``cache_hit``: its outputs were restored instead of running it."""

    build_id: str
    name: str
    position: int
    needs: list[str]
    state: str
    exit_code: int | None
    cache_key: str | None
    cache_hit: bool
    error: str | None
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """One pipeline run of a service at a commit."""

    id: str
    service: str
    seq: int
    ref: str
    commit_sha: str
    branch: str
    trigger: str
    state: str
    error: str | None
    artifact: str | None
    release_id: str | None
    cancel_requested: bool
    runner: str | None
    data: dict[str, Any]
    created_by: str
    created_at: datetime
    ended_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    @property
    def duration(self) -> timedelta | None:
        return None if self.ended_at is None else self.ended_at - self.created_at


class Builds:
    """The ``builds`` and ``build_steps`` tables."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(
        self,
        service: str,
        *,
        ref: str,
        commit_sha: str,
        branch: str,
        trigger: str,
        steps: Sequence[tuple[str, Sequence[str]]],
        created_by: str,
        runner: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> BuildRecord:
        """Start build ``<service>-b<seq>`` (state ``running``) with ``steps`` (name, needs)
        all ``pending``."""
        require_text(service, "service", max_length=100)
        require_text(ref, "ref", max_length=500)
        require_text(commit_sha, "commit_sha", max_length=64)
        require_text(trigger, "trigger", max_length=50)
        require_text(created_by, "created_by", max_length=200)
        names = [name for name, _ in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique, got {names}")
        payload = json_object(data, "data")
        with self._db.writing() as conn:
            seq = next_value(conn, BUILD_SEQ, service)
            build_id = f"{service}-b{seq}"
            row = conn.execute(
                sa.insert(builds)
                .values(
                    id=build_id,
                    service=service,
                    seq=seq,
                    ref=ref,
                    commit_sha=commit_sha,
                    branch=branch,
                    trigger=trigger,
                    state=RUNNING,
                    error=None,
                    artifact=None,
                    release_id=None,
                    cancel_requested=False,
                    runner=runner,
                    data=payload,
                    created_by=created_by,
                    created_at=self._clock.now(),
                    ended_at=None,
                )
                .returning(*builds.c)
            ).one()
            for position, (name, needs) in enumerate(steps):
                require_text(name, "step name", max_length=100)
                conn.execute(
                    sa.insert(build_steps).values(
                        build_id=build_id,
                        name=name,
                        position=position,
                        needs=list(needs),
                        state="pending",
                        exit_code=None,
                        cache_key=None,
                        cache_hit=False,
                        error=None,
                        started_at=None,
                        ended_at=None,
                    )
                )
        return BuildRecord(**row._mapping)

    def get(self, build_id: str) -> BuildRecord:
        """The build ``build_id``; :class:`NotFound` if there is none."""
        with self._db.reading() as conn:
            return _get(conn, build_id)

    def find(self, text: str) -> BuildRecord:
        """The build that ``text`` names: its exact id, else a unique leading part of one
        (:mod:`roost.store.resolving`); :class:`NotFound` or :class:`Ambiguous` otherwise."""
        with self._db.reading() as conn:
            build_id = resolve_id(conn, builds.c.id, text, what="build", ulid=False)
            return _get(conn, build_id)

    def list(self, service: str | None = None, *, limit: int = 20) -> builtins.list[BuildRecord]:
        """Builds, newest first, optionally of one service."""
        query = sa.select(builds).order_by(builds.c.created_at.desc(), builds.c.seq.desc())
        if service is not None:
            query = query.where(builds.c.service == service)
        with self._db.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [BuildRecord(**row._mapping) for row in rows]

    def steps(self, build_id: str) -> builtins.list[BuildStepRecord]:
        """The steps of ``build_id`` in pipeline order."""
        query = (
            sa.select(build_steps)
            .where(build_steps.c.build_id == build_id)
            .order_by(build_steps.c.position)
        )
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return [BuildStepRecord(**row._mapping) for row in rows]

    def step_started(self, build_id: str, name: str, *, cache_key: str | None = None) -> None:
        """Mark step ``name`` running (from ``pending``)."""
        self._step(
            build_id,
            name,
            {"state": "running", "cache_key": cache_key, "started_at": self._clock.now()},
            allowed=("pending",),
        )

    def step_finished(
        self,
        build_id: str,
        name: str,
        state: str,
        *,
        exit_code: int | None = None,
        cache_key: str | None = None,
        cache_hit: bool = False,
        error: str | None = None,
    ) -> None:
        """End step ``name`` in ``state`` (a cache hit may end a step that never ran)."""
        if state not in _STEP_DONE:
            raise ValueError(f"{state!r} is not a final step state")
        now = self._clock.now()
        values: dict[str, Any] = {
            "state": state,
            "exit_code": exit_code,
            "cache_hit": cache_hit,
            "error": error,
            "ended_at": now,
        }
        if cache_key is not None:
            values["cache_key"] = cache_key
        with self._db.writing() as conn:
            current = _step_row(conn, build_id, name)
            if current.state in _STEP_DONE:
                raise Conflict(f"step {name} of {build_id} already ended ({current.state})")
            if current.started_at is None:
                values["started_at"] = now
            _update_step(conn, build_id, name, values)

    def _step(
        self, build_id: str, name: str, values: dict[str, Any], *, allowed: tuple[str, ...]
    ) -> None:
        with self._db.writing() as conn:
            current = _step_row(conn, build_id, name)
            if current.state not in allowed:
                raise Conflict(f"step {name} of {build_id} is {current.state}")
            _update_step(conn, build_id, name, values)

    def request_cancel(self, build_id: str) -> BuildRecord:
        """Ask the runner of ``build_id`` to stop it. :class:`Conflict` if it has finished."""
        with self._db.writing() as conn:
            build = _get(conn, build_id)
            if build.finished:
                raise Conflict(f"build {build_id} already finished ({build.state})")
            conn.execute(
                sa.update(builds).where(builds.c.id == build_id).values(cancel_requested=True)
            )
            return _get(conn, build_id)

    def finish(
        self,
        build_id: str,
        state: str,
        *,
        error: str | None = None,
        artifact: str | None = None,
    ) -> BuildRecord:
        """End the build in ``state`` and settle its unfinished steps, atomically.

        :class:`Conflict` if it has already finished (nothing is written then).
        """
        if state not in BUILD_STATES or state == RUNNING:
            raise ValueError(f"{state!r} is not a final build state")
        now = self._clock.now()
        with self._db.writing() as conn:
            build = _get(conn, build_id)
            if build.finished:
                raise Conflict(f"build {build_id} already finished ({build.state})")
            for old, new in (("pending", "skipped"), ("running", "cancelled")):
                conn.execute(
                    sa.update(build_steps)
                    .where(build_steps.c.build_id == build_id, build_steps.c.state == old)
                    .values(state=new, ended_at=now)
                )
            conn.execute(
                sa.update(builds)
                .where(builds.c.id == build_id)
                .values(state=state, error=error, artifact=artifact, ended_at=now)
            )
            return _get(conn, build_id)

    def set_release(self, build_id: str, release_id: str) -> BuildRecord:
        """Record the release cut from a succeeded build."""
        require_text(release_id, "release_id", max_length=200)
        with self._db.writing() as conn:
            build = _get(conn, build_id)
            if build.state != "succeeded":
                raise Conflict(f"build {build_id} is {build.state}; only a green build releases")
            conn.execute(
                sa.update(builds).where(builds.c.id == build_id).values(release_id=release_id)
            )
            return _get(conn, build_id)

    def __repr__(self) -> str:
        return f"Builds({self._db.redacted_url!r})"


def _get(conn: Connection, build_id: str) -> BuildRecord:
    row = conn.execute(sa.select(builds).where(builds.c.id == build_id)).first()
    if row is None:
        raise NotFound(f"no build {build_id!r}")
    return BuildRecord(**row._mapping)


def _step_row(conn: Connection, build_id: str, name: str) -> BuildStepRecord:
    row = conn.execute(
        sa.select(build_steps).where(build_steps.c.build_id == build_id, build_steps.c.name == name)
    ).first()
    if row is None:
        raise NotFound(f"build {build_id!r} has no step {name!r}")
    return BuildStepRecord(**row._mapping)


def _update_step(conn: Connection, build_id: str, name: str, values: dict[str, Any]) -> None:
    build = _get(conn, build_id)
    if build.finished:
        raise Conflict(f"build {build_id} already finished ({build.state})")
    conn.execute(
        sa.update(build_steps)
        .where(build_steps.c.build_id == build_id, build_steps.c.name == name)
        .values(**values)
    )
