"""Deploy locks: leases with a holder, a reason and an expiry, never a file to force-unlock.

A lock ``deploy/web/prod`` is the lease ``lock/deploy/web/prod`` on the configured backend. Its
holder keeps it renewed while it works (:meth:`Locks.holding` does that on a thread); when the
holder dies the lock expires by itself: a contender that finds it held watches it, and takes it
over once it has stayed unrenewed for its duration on the contender's own clock (the observer
rule of :mod:`roost.leases.observing`, so clock skew cannot break a live lock).

Everything is audited in the event log (``store.events``): ``dev.roost.lock.acquired`` and
``dev.roost.lock.released``. Releasing someone else's lock is possible but explicit —
:meth:`Locks.force_release` with an actor and a reason — and its event says who broke whose
lock and why.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost._util import event_catalog
from roost.clock import Clock, RealClock
from roost.leases._checks import require_name
from roost.leases.errors import LeaseError, NotHolder
from roost.leases.keeping import LeaseKeeper
from roost.leases.observing import Observer
from roost.leases.protocol import LeaseBackend
from roost.leases.records import Lease
from roost.store import Fence
from roost.store.events import Events

LOCK_PREFIX = "lock/"
EVENT_SOURCE = "roost/locks"
ACQUIRED = event_catalog.LOCK_ACQUIRED
RELEASED = event_catalog.LOCK_RELEASED


class NotLocked(LeaseError):
    """The lock is not held by anyone."""

    default_hint = "nothing to release: `roost lock list` shows the locks that are held"


@dataclass(frozen=True, slots=True)
class Lock:
    """A held deploy lock. ``expires_at`` is by the holder's clock (informational)."""

    name: str
    holder: str
    reason: str | None
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    duration_seconds: float
    fencing_token: int

    @property
    def fence(self) -> Fence:
        """Attach to writes made under the lock: the store refuses them once it moved on."""
        return Fence(LOCK_PREFIX + self.name, self.fencing_token)

    @classmethod
    def from_lease(cls, lease: Lease) -> Lock:
        if lease.holder is None or not lease.name.startswith(LOCK_PREFIX):
            raise ValueError(f"lease {lease.name!r} is not a held lock")
        return cls(
            name=lease.name[len(LOCK_PREFIX) :],
            holder=lease.holder,
            reason=lease.reason,
            acquired_at=lease.acquired_at,
            renewed_at=lease.renewed_at,
            expires_at=lease.expires_at,
            duration_seconds=lease.duration_seconds,
            fencing_token=lease.fencing_token,
        )


class Locks:
    """Named locks on ``backend``, audited to ``events`` (``store.events``)."""

    def __init__(
        self, backend: LeaseBackend, *, events: Events, clock: Clock | None = None
    ) -> None:
        self.backend = backend
        self._events = events
        self._clock = clock or RealClock()

    def list(self) -> builtins.list[Lock]:
        """The locks that are held, by name (including ones whose holder may have died: only
        watching them tells; see the module doc)."""
        return [
            Lock.from_lease(lease)
            for lease in self.backend.list()
            if lease.name.startswith(LOCK_PREFIX) and lease.holder is not None
        ]

    def get(self, name: str) -> Lock | None:
        """The lock ``name`` if it is held."""
        lease = self.backend.get(_lease_name(name))
        return None if lease is None or lease.holder is None else Lock.from_lease(lease)

    def acquire(
        self,
        name: str,
        holder: str,
        *,
        reason: str,
        duration_seconds: float,
        wait: float = 0.0,
        poll: float = 0.5,
    ) -> Lock | None:
        """Take lock ``name`` for ``holder`` because of ``reason``; None if someone else still
        holds it after ``wait`` seconds. While waiting, a held lock is watched and taken over
        once it has gone unrenewed for its duration (its holder died)."""
        lease = self._take(name, holder, reason, duration_seconds, wait, poll)
        return None if lease is None else Lock.from_lease(lease)

    def _take(
        self,
        name: str,
        holder: str,
        reason: str,
        duration_seconds: float,
        wait: float,
        poll: float,
    ) -> Lease | None:
        lease_name = _lease_name(name)
        observer = Observer(self._clock)
        deadline = self._clock.monotonic() + wait
        while True:
            lease = self.backend.get(lease_name)
            seen = observer.see(lease_name, lease)
            now = self._clock.monotonic()
            if seen.free or seen.expired(now) or (lease and lease.holder == holder):
                held_by_other = lease is not None and lease.holder not in (None, holder)
                taken = self.backend.acquire(
                    lease_name,
                    holder,
                    duration_seconds=duration_seconds,
                    expected_version=lease.version if held_by_other and lease else None,
                    reason=reason,
                )
                if taken is not None:
                    self._audit(ACQUIRED, taken, actor=holder, reason=reason)
                    return taken
                continue  # lost a race: look again at once
            if now >= deadline:
                return None
            self._clock.sleep(min(poll, deadline - now, max(seen.remaining(now), 0.01)))

    def renew(self, name: str, holder: str) -> Lock:
        """Extend ``holder``'s lock; :class:`~roost.leases.errors.LeaseLost` if it is gone."""
        return Lock.from_lease(self.backend.renew(_lease_name(name), holder))

    def release(self, name: str, holder: str) -> None:
        """The holder gives the lock up. :class:`NotHolder` if someone else holds it (use
        :meth:`force_release`); releasing a lock nobody holds is a no-op."""
        lease = self.backend.get(_lease_name(name))
        released = self.backend.release(_lease_name(name), holder)
        if lease is not None and lease.holder == holder and released is not None:
            self._audit(RELEASED, lease, actor=holder, reason=None, forced=False)

    def force_release(self, name: str, *, actor: str, reason: str) -> Lock:
        """Break someone else's lock: an explicit, audited act (``dev.roost.lock.released``
        with ``forced: true``, the actor and the reason). Returns the lock as it was;
        :class:`NotLocked` if nobody holds it."""
        require_name(actor, "actor")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("breaking a lock needs a reason (it goes into the audit log)")
        lease = self.backend.get(_lease_name(name))
        if lease is None or lease.holder is None:
            raise NotLocked(f"lock {name!r} is not held")
        try:
            self.backend.release(lease.name, lease.holder)
        except NotHolder:
            raise NotHolder(
                f"lock {name!r} changed holder while it was being released; look again",
                hint="run `roost lock list` and retry if it should still be broken",
            ) from None
        self._audit(RELEASED, lease, actor=actor, reason=reason, forced=True)
        return Lock.from_lease(lease)

    @contextmanager
    def holding(
        self,
        name: str,
        holder: str,
        *,
        reason: str,
        duration_seconds: float = 60.0,
        wait: float = 0.0,
    ) -> Iterator[Lock]:
        """Hold lock ``name`` for the ``with`` block, renewed every third of its duration on
        a thread, released afterwards. :class:`LockBusy` if it cannot be had within ``wait``."""
        lease = self._take(name, holder, reason, duration_seconds, wait, 0.5)
        if lease is None:
            current = self.get(name)
            who = f" by {current.holder!r} ({current.reason or 'no reason'})" if current else ""
            raise LockBusy(f"lock {name!r} is held{who}")
        keeper = LeaseKeeper(self.backend, lease, clock=self._clock)
        keeper.start()
        try:
            yield Lock.from_lease(lease)
        finally:
            keeper.stop(release=False)
            if keeper.lost is None:
                self.release(name, holder)

    def _audit(
        self,
        type: str,  # the CloudEvents attribute name
        lease: Lease,
        *,
        actor: str,
        reason: str | None,
        forced: bool | None = None,
    ) -> None:
        data: dict[str, Any] = {
            "lock": lease.name[len(LOCK_PREFIX) :],
            "holder": lease.holder,
            "reason": reason,
            "fencing_token": lease.fencing_token,
            "backend": self.backend.kind,
        }
        if forced is not None:
            data["forced"] = forced
        self._events.append(type, source=EVENT_SOURCE, subject=data["lock"], data=data, actor=actor)

    def __repr__(self) -> str:
        return f"Locks({self.backend!r})"


class LockBusy(LeaseError):
    """Someone else holds the lock."""

    default_hint = "wait for it, or see `roost lock list` for who holds it and why"


def _lease_name(name: str) -> str:
    require_name(name, "lock name")
    return LOCK_PREFIX + name
