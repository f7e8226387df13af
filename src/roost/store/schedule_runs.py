"""Schedule runs: one row per tick a control plane claimed.

Exactly once per tick across control planes comes from two rules, both enforced here in one
transaction: the row is unique per (schedule, scheduled tick), so a second claimer gets
nothing; and the claim carries the leader's fence, so a paused ex-leader whose lease moved on
cannot claim a tick the new leader is about to run. Finishing a run is not fenced: it records
what happened, whoever is leading now.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database
from roost.store.errors import Conflict
from roost.store.fencing import check_fence
from roost.store.records import Fence
from roost.store.tables import UTCDateTime, schedule_runs

RUNNING = "running"
FINISHED = ("succeeded", "failed", "missed", "skipped", "replaced", "interrupted")


@dataclass(frozen=True, slots=True)
class Claim:
    """A tick to claim: ``status`` running (its action starts now) or already an ending
    (missed, skipped) for a tick that will not run."""

    schedule: str
    tick: datetime
    status: str = RUNNING
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleRunRecord:
    """A claimed tick: ``scheduled_at`` is the tick (UTC), ``status`` running or how it ended."""

    id: int
    schedule: str
    scheduled_at: datetime
    status: str
    fencing_token: int | None
    claimed_by: str
    started_at: datetime
    finished_at: datetime | None
    detail: str


class ScheduleRuns:
    """The ``schedule_runs`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def claim(
        self,
        schedule: str,
        tick: datetime,
        *,
        claimed_by: str,
        status: str = RUNNING,
        detail: str = "",
        fence: Fence | None = None,
    ) -> ScheduleRunRecord | None:
        """Claim ``tick`` of ``schedule``: the new row, or None when it was already claimed.
        :class:`~roost.store.StaleFencingToken` when ``fence`` is no longer current."""
        require_text(schedule, "schedule", max_length=100)
        require_text(claimed_by, "claimed_by", max_length=200)
        if status != RUNNING and status not in FINISHED:
            raise ValueError(f"unknown schedule run status {status!r}")
        now = self._clock.now()
        values = {
            "schedule": schedule,
            "scheduled_at": tick,
            "status": status,
            "fencing_token": fence.token if fence is not None else None,
            "claimed_by": claimed_by,
            "started_at": now,
            "finished_at": None if status == RUNNING else now,
            "detail": detail,
        }
        try:
            with self._db.writing() as conn:
                check_fence(conn, fence)
                row = conn.execute(
                    sa.insert(schedule_runs).values(**values).returning(*schedule_runs.c)
                ).one()
        except Conflict:
            return None  # the unique (schedule, tick): another control plane has it
        return ScheduleRunRecord(**row._mapping)

    def claim_many(
        self,
        claims: Sequence[Claim],
        *,
        claimed_by: str,
        fence: Fence | None = None,
    ) -> dict[tuple[str, datetime], ScheduleRunRecord]:
        """Claim several ticks in one fenced transaction: the rows this call inserted, by
        (schedule, tick); ticks already claimed (by anyone) are left out. One commit for a
        whole tick of the leader's loop, however many schedules fire in it."""
        require_text(claimed_by, "claimed_by", max_length=200)
        if not claims:
            return {}
        now = self._clock.now()
        rows = []
        for claim in claims:
            require_text(claim.schedule, "schedule", max_length=100)
            if claim.status != RUNNING and claim.status not in FINISHED:
                raise ValueError(f"unknown schedule run status {claim.status!r}")
            rows.append(
                {
                    "schedule": claim.schedule,
                    "scheduled_at": claim.tick,
                    "status": claim.status,
                    "fencing_token": fence.token if fence is not None else None,
                    "claimed_by": claimed_by,
                    "started_at": now,
                    "finished_at": None if claim.status == RUNNING else now,
                    "detail": claim.detail,
                }
            )
        insert = (
            postgresql.insert(schedule_runs)
            if self._db.dialect == "postgresql"
            else sqlite.insert(schedule_runs)
        )
        statement = insert.on_conflict_do_nothing(
            index_elements=["schedule", "scheduled_at"]
        ).returning(*schedule_runs.c)
        out: dict[tuple[str, datetime], ScheduleRunRecord] = {}
        with self._db.writing() as conn:
            check_fence(conn, fence)
            for row in rows:  # one statement each: RETURNING of a multi-row insert is unordered
                got = conn.execute(statement.values(**row)).first()
                if got is not None:
                    record = ScheduleRunRecord(**got._mapping)
                    out[(record.schedule, record.scheduled_at)] = record
        return out

    def finish(self, run_id: int, status: str, *, detail: str = "") -> None:
        """Record how a running tick ended (a run already finished keeps its first ending)."""
        if status not in FINISHED:
            raise ValueError(f"unknown schedule run status {status!r}")
        with self._db.writing() as conn:
            conn.execute(
                sa.update(schedule_runs)
                .where(schedule_runs.c.id == run_id, schedule_runs.c.status == RUNNING)
                .values(status=status, finished_at=self._clock.now(), detail=detail[:2000])
            )

    def last_ticks(self) -> dict[str, datetime]:
        """Every schedule's newest claimed tick (one query for all schedules)."""
        # type_coerce: the aggregate keeps the column's type (aware UTC on SQLite as well).
        newest = sa.type_coerce(sa.func.max(schedule_runs.c.scheduled_at), UTCDateTime())
        with self._db.reading() as conn:
            rows = conn.execute(
                sa.select(schedule_runs.c.schedule, newest).group_by(schedule_runs.c.schedule)
            ).all()
        return {name: tick for name, tick in rows}

    def running(self, schedule: str | None = None) -> builtins.list[ScheduleRunRecord]:
        """Runs not finished yet (of ``schedule``, or all), oldest first."""
        query = sa.select(schedule_runs).where(schedule_runs.c.status == RUNNING)
        if schedule is not None:
            query = query.where(schedule_runs.c.schedule == schedule)
        with self._db.reading() as conn:
            rows = conn.execute(query.order_by(schedule_runs.c.scheduled_at)).all()
        return [ScheduleRunRecord(**row._mapping) for row in rows]

    def list(
        self, schedule: str | None = None, *, limit: int = 100
    ) -> builtins.list[ScheduleRunRecord]:
        """The newest ``limit`` runs (of ``schedule``, or all), newest tick first."""
        query = sa.select(schedule_runs)
        if schedule is not None:
            query = query.where(schedule_runs.c.schedule == schedule)
        query = query.order_by(schedule_runs.c.scheduled_at.desc(), schedule_runs.c.id.desc())
        with self._db.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [ScheduleRunRecord(**row._mapping) for row in rows]

    def __repr__(self) -> str:
        return f"ScheduleRuns({self._db.redacted_url!r})"
