"""Leases as rows in roost's state store (SQLite or PostgreSQL): the embedded default.

A thin adapter over :class:`roost.store.leases.Leases`. The store locks the row for every
change, so two contenders cannot both win; takeovers go through ``Leases.claim``, a
compare-and-set on the row's ``(fencing_token, version)``, which this backend exposes as the
opaque version ``"<token>.<version>"`` (the row version alone restarts when a deleted lease is
recreated; the token never does).

Fencing needs nothing extra here: the store's fenced writes check this very table.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager

from roost.leases._checks import require_duration, require_name, require_reason
from roost.leases.errors import BackendUnavailable, LeaseLost, NotHolder
from roost.leases.records import Lease
from roost.store import Conflict, DatabaseBusy, DatabaseUnreachable, LeaseRecord, NotFound, Store
from roost.store import StoreError as _StoreError


class SqlLeaseBackend:
    """Leases in the store's ``leases`` table. Thread-safe (the store is)."""

    kind = "sql"

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str) -> Lease | None:
        with _translating(self.store):
            record = self.store.leases.get(name)
        return None if record is None else _lease(record)

    def list(self) -> builtins.list[Lease]:
        with _translating(self.store):
            return [_lease(record) for record in self.store.leases.list()]

    def acquire(
        self,
        name: str,
        holder: str,
        *,
        duration_seconds: float,
        expected_version: str | None = None,
        reason: str | None = None,
    ) -> Lease | None:
        require_name(name)
        require_name(holder, "lease holder")
        require_reason(reason)
        require_duration(duration_seconds)
        expected = None if expected_version is None else _parse_version(expected_version)
        with _translating(self.store):
            record = self.store.leases.claim(
                name, holder, duration_seconds=duration_seconds, expected=expected, reason=reason
            )
        return None if record is None else _lease(record)

    def renew(self, name: str, holder: str, *, duration_seconds: float | None = None) -> Lease:
        if duration_seconds is not None:
            require_duration(duration_seconds)
        try:
            with _translating(self.store):
                record = self.store.leases.renew(name, holder, duration_seconds=duration_seconds)
        except (NotFound, Conflict) as exc:
            raise LeaseLost(f"{holder!r} lost lease {name!r}: {exc}") from None
        return _lease(record)

    def release(self, name: str, holder: str) -> Lease | None:
        try:
            with _translating(self.store):
                record = self.store.leases.release(name, holder)
        except NotFound:
            return None
        except Conflict as exc:
            raise NotHolder(f"cannot release lease {name!r}: {exc}") from None
        return _lease(record)

    def delete(self, name: str) -> bool:
        with _translating(self.store):
            return self.store.leases.delete(name)

    def close(self) -> None:
        """Nothing to close: the store belongs to whoever opened it."""

    def __repr__(self) -> str:
        return f"SqlLeaseBackend({self.store.url!r})"


def _lease(record: LeaseRecord) -> Lease:
    return Lease(
        name=record.name,
        holder=record.holder,
        duration_seconds=float(record.duration_seconds),
        acquired_at=record.acquired_at,
        renewed_at=record.renewed_at,
        transitions=record.transitions,
        fencing_token=record.fencing_token,
        version=f"{record.fencing_token}.{record.version}",
        reason=record.reason,
    )


def _parse_version(version: str) -> tuple[int, int]:
    token, dot, row_version = version.partition(".")
    if not dot or not token.isdigit() or not row_version.isdigit():
        raise ValueError(f"not a version of the SQL lease backend: {version!r}")
    return int(token), int(row_version)


@contextmanager
def _translating(store: Store) -> Iterator[None]:
    # Conflict and NotFound are answers the callers above interpret; everything else the store
    # raises means the database could not do its job.
    try:
        yield
    except (Conflict, NotFound):
        raise
    except (DatabaseUnreachable, DatabaseBusy) as exc:
        raise BackendUnavailable(str(exc), hint=exc.hint) from exc
    except _StoreError as exc:
        raise BackendUnavailable(f"lease store {store.url} failed: {exc}", hint=exc.hint) from exc
