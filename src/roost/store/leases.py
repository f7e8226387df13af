"""Leases as rows: holder, duration, acquire/renew times, transitions and a fencing token.

A *tenure* starts whenever the lease passes to a holder who did not hold it a moment ago (first
acquisition, takeover after expiry, re-acquisition after a release). Every tenure gets a new
fencing token from the ``counters`` table, which outlives the lease row, so tokens for a name
only ever grow, even across delete and recreate. A holder that re-acquires or renews a lease it
still holds keeps its tenure and its token.

:meth:`Leases.try_acquire` judges expiry by the store's clock (``renewed_at + duration``),
which is right when one host's clock is the only clock involved. Leader election across hosts
uses :meth:`Leases.claim` instead: the contender judges expiry on its own monotonic clock
(``roost.leases.observing``) and the store only checks that the row is still the exact version
it watched, so clock skew between hosts cannot make a live lease look expired.
:meth:`Leases.adopt` mirrors a tenure granted by an external lease service (etcd, Kubernetes)
into this table, so that fenced writes to the store are checked against its token.

Every operation locks the lease row (PostgreSQL ``SELECT … FOR UPDATE``; SQLite ``BEGIN
IMMEDIATE``) before deciding, so two contenders cannot both win.
"""

from __future__ import annotations

import builtins
import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.clock import Clock
from roost.store._checks import require_text
from roost.store.connecting import Database, upsert_insert
from roost.store.counters import LEASE_TOKEN, next_value
from roost.store.errors import Conflict, NotFound, StaleFencingToken
from roost.store.records import LeaseRecord
from roost.store.tables import counters, leases

REASON_MAX_LENGTH = 500


class Leases:
    """The ``leases`` table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def get(self, name: str) -> LeaseRecord | None:
        """The lease ``name``, or None if it does not exist (which means it is free)."""
        with self._db.reading() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
        return None if row is None else LeaseRecord(**row._mapping)

    def list(self) -> builtins.list[LeaseRecord]:
        """Every lease, by name."""
        with self._db.reading() as conn:
            rows = conn.execute(sa.select(leases).order_by(leases.c.name)).all()
        return [LeaseRecord(**row._mapping) for row in rows]

    def try_acquire(
        self, name: str, holder: str, *, duration_seconds: float, reason: str | None = None
    ) -> LeaseRecord | None:
        """Take the lease if it is free, released, expired, or already ours; else None.

        Taking it from nobody or from someone else starts a new tenure (new fencing token,
        ``transitions`` + 1 unless it is the lease's first tenure). Re-acquiring a lease we
        hold renews it and keeps the token. ``reason`` is stored with a new tenure (and
        replaces the old one on re-acquisition when given).
        """
        _check_claim(name, holder, reason)
        duration_seconds = _check_duration(duration_seconds)
        with self._db.writing() as conn:
            now = self._clock.now()
            _ensure_row(conn, name, now, duration_seconds)
            current = _locked(conn, name)
            assert current is not None
            if current.holder != holder and not current.expired(now):
                return None
            return _take(conn, current, holder, now, duration_seconds, reason)

    def claim(
        self,
        name: str,
        holder: str,
        *,
        duration_seconds: float,
        expected: tuple[int, int] | None = None,
        reason: str | None = None,
    ) -> LeaseRecord | None:
        """Compare-and-set acquisition for callers that judge expiry on their own clock.

        Takes the lease when it does not exist or is released (a new tenure), when ``holder``
        already holds it (renewed, same token), or when someone else holds it and ``expected``
        is still its ``(fencing_token, version)``: the caller watched that exact state for
        longer than the lease's duration, so the holder has stopped renewing. Returns None
        otherwise. Unlike :meth:`try_acquire` it never compares the row's timestamps, which
        another host wrote with its own clock, against this host's clock.
        """
        _check_claim(name, holder, reason)
        duration_seconds = _check_duration(duration_seconds)
        with self._db.writing() as conn:
            now = self._clock.now()
            _ensure_row(conn, name, now, duration_seconds)
            current = _locked(conn, name)
            assert current is not None
            taking_over = current.holder is not None and current.holder != holder
            if taking_over and expected != (current.fencing_token, current.version):
                return None
            return _take(conn, current, holder, now, duration_seconds, reason)

    def adopt(
        self, name: str, holder: str, *, fencing_token: int, duration_seconds: float
    ) -> LeaseRecord:
        """Mirror a tenure that an external lease service (etcd, Kubernetes) granted, so that
        writes fenced with ``Fence(name, fencing_token)`` are checked against it here.

        The row takes ``holder`` and ``fencing_token`` when the token is higher than the row's
        (a new tenure); adopting the row's current holder and token again renews it. A lower
        token, or the same token for another holder, raises :class:`StaleFencingToken`: the
        external service has moved on, or lost its history. The token counter is raised too,
        so tokens this store hands out later for ``name`` stay above it.
        """
        _check_claim(name, holder, None)
        duration_seconds = _check_duration(duration_seconds)
        if isinstance(fencing_token, bool) or not isinstance(fencing_token, int):
            raise ValueError(f"fencing_token must be an integer, got {fencing_token!r}")
        if fencing_token <= 0:
            raise ValueError(f"fencing_token must be positive, got {fencing_token!r}")
        with self._db.writing() as conn:
            now = self._clock.now()
            _ensure_row(conn, name, now, duration_seconds)
            current = _locked(conn, name)
            assert current is not None
            if fencing_token == current.fencing_token and holder == current.holder:
                return _update(conn, name, renewed_at=now, duration_seconds=duration_seconds)
            if fencing_token <= current.fencing_token:
                raise StaleFencingToken(
                    f"cannot adopt token {fencing_token} for lease {name!r} (holder "
                    f"{holder!r}): the store already has token {current.fencing_token} "
                    f"(holder {current.holder!r})"
                )
            _raise_counter(conn, name, fencing_token)
            first = current.fencing_token == 0
            return _update(
                conn,
                name,
                holder=holder,
                acquired_at=now,
                renewed_at=now,
                duration_seconds=duration_seconds,
                fencing_token=fencing_token,
                transitions=current.transitions + (0 if first else 1),
                reason=None,
            )

    def renew(
        self, name: str, holder: str, *, duration_seconds: float | None = None
    ) -> LeaseRecord:
        """Extend ``holder``'s claim from now (optionally with a new duration).

        :class:`NotFound` if the lease does not exist; :class:`Conflict` if ``holder`` does not
        hold it (released, or taken over by someone else after expiry). A lease that expired
        but that nobody took is still ``holder``'s and can be renewed.
        """
        if duration_seconds is not None:
            duration_seconds = _check_duration(duration_seconds)
        with self._db.writing() as conn:
            current = _require_holder(conn, name, holder)
            return _update(
                conn,
                name,
                renewed_at=self._clock.now(),
                duration_seconds=(
                    current.duration_seconds if duration_seconds is None else duration_seconds
                ),
            )

    def release(self, name: str, holder: str) -> LeaseRecord:
        """Give the lease up so anyone may take it at once. Releasing a lease nobody holds is a
        no-op; :class:`Conflict` if someone else holds it; :class:`NotFound` if it does not
        exist. The fencing token stays as it was (the next tenure gets a higher one)."""
        with self._db.writing() as conn:
            current = _locked(conn, name)
            if current is None:
                raise NotFound(f"no lease {name!r}")
            if current.holder is None:
                return current
            if current.holder != holder:
                raise Conflict(f"lease {name!r} is held by {current.holder!r}, not {holder!r}")
            return _update(conn, name, holder=None, reason=None)

    def delete(self, name: str) -> bool:
        """Remove the lease row; True if there was one. Its fencing high-water mark stays."""
        with self._db.writing() as conn:
            result = conn.execute(sa.delete(leases).where(leases.c.name == name))
            return result.rowcount > 0

    def __repr__(self) -> str:
        return f"Leases({self._db.redacted_url!r})"


def _check_claim(name: str, holder: str, reason: str | None) -> None:
    require_text(name, "lease name", max_length=200)
    require_text(holder, "lease holder", max_length=200)
    if reason is not None:
        require_text(reason, "lease reason", max_length=REASON_MAX_LENGTH)


def _take(
    conn: Connection,
    current: LeaseRecord,
    holder: str,
    now: datetime,
    duration_seconds: float,
    reason: str | None,
) -> LeaseRecord:
    """Give the locked row ``current`` to ``holder``: a renewal if it is already theirs,
    otherwise a new tenure with a new fencing token."""
    if current.holder == holder:
        values: dict[str, object] = {"renewed_at": now}
        if reason is not None:
            values["reason"] = reason
    else:
        # token 0 marks the placeholder _ensure_row inserted: no previous tenure.
        first = current.fencing_token == 0
        values = {
            "holder": holder,
            "acquired_at": now,
            "renewed_at": now,
            "fencing_token": next_value(conn, LEASE_TOKEN, current.name),
            "transitions": current.transitions + (0 if first else 1),
            "reason": reason,
        }
    return _update(conn, current.name, duration_seconds=duration_seconds, **values)


def _raise_counter(conn: Connection, name: str, value: int) -> None:
    # The counter is the fencing high-water mark: lift it to an adopted token so that a token
    # this store hands out later is still higher.
    conn.execute(
        upsert_insert(conn, counters)
        .values(scope=LEASE_TOKEN, key=name, value=value)
        .on_conflict_do_update(
            index_elements=[counters.c.scope, counters.c.key],
            set_={
                "value": sa.case(
                    (counters.c.value < value, sa.literal(value, sa.BigInteger)),
                    else_=counters.c.value,
                )
            },
        )
    )


def _check_duration(duration_seconds: float) -> float:
    if (
        isinstance(duration_seconds, bool)
        or not isinstance(duration_seconds, int | float)
        or not math.isfinite(duration_seconds)
        or duration_seconds <= 0
    ):
        raise ValueError(f"duration_seconds must be a positive number, got {duration_seconds!r}")
    return float(duration_seconds)


def _ensure_row(conn: Connection, name: str, now: datetime, duration_seconds: float) -> None:
    # Insert a free placeholder if the lease does not exist, so that the row can be locked.
    # ON CONFLICT DO NOTHING makes a concurrent creator on PostgreSQL wait for the other
    # transaction instead of failing with a unique violation.
    conn.execute(
        upsert_insert(conn, leases)
        .values(
            name=name,
            holder=None,
            duration_seconds=duration_seconds,
            acquired_at=now,
            renewed_at=now,
            transitions=0,
            fencing_token=0,
            version=0,
        )
        .on_conflict_do_nothing(index_elements=[leases.c.name])
    )


def _locked(conn: Connection, name: str) -> LeaseRecord | None:
    row = conn.execute(sa.select(leases).where(leases.c.name == name).with_for_update()).first()
    return None if row is None else LeaseRecord(**row._mapping)


def _require_holder(conn: Connection, name: str, holder: str) -> LeaseRecord:
    current = _locked(conn, name)
    if current is None:
        raise NotFound(f"no lease {name!r}")
    if current.holder is None:
        raise Conflict(f"lease {name!r} is not held by {holder!r}: it has been released")
    if current.holder != holder:
        raise Conflict(f"lease {name!r} is held by {current.holder!r}, not {holder!r}")
    return current


def _update(conn: Connection, name: str, **values: object) -> LeaseRecord:
    row = conn.execute(
        sa.update(leases)
        .where(leases.c.name == name)
        .values(version=leases.c.version + 1, **values)
        .returning(*leases.c)
    ).one()
    return LeaseRecord(**row._mapping)
