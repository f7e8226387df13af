"""Keeping a held lease renewed in the background: deploy locks, an agent's node lease.

    lease = backend.acquire("node/host-1", agent_id, duration_seconds=30)
    keeper = LeaseKeeper(backend, lease, on_lost=report)
    keeper.start()          # renews every duration / 3
    ...
    keeper.stop()           # and releases it

A renewal that fails with a backend error is retried at the next interval; ``on_lost`` is
called once when the lease is definitely gone (someone else holds it, or it was deleted) or
when no renewal succeeded for the lease's whole duration, since others may now have taken it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from roost.clock import Clock, RealClock
from roost.leases.errors import LeaseError, LeaseLost
from roost.leases.protocol import LeaseBackend
from roost.leases.records import Lease

log = logging.getLogger("roost.leases")


class LeaseKeeper:
    """Renews ``lease`` (held by its holder) on a daemon thread until stopped or lost."""

    def __init__(
        self,
        backend: LeaseBackend,
        lease: Lease,
        *,
        interval: float | None = None,
        on_lost: Callable[[LeaseError], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if lease.holder is None:
            raise ValueError(f"lease {lease.name!r} is not held: nothing to keep")
        self.backend = backend
        self._lease = lease
        self._holder = lease.holder
        self.interval = lease.duration_seconds / 3 if interval is None else interval
        if self.interval <= 0 or self.interval >= lease.duration_seconds:
            raise ValueError(
                f"the renewal interval ({self.interval:g}s) must be positive and shorter than "
                f"the lease duration ({lease.duration_seconds:g}s)"
            )
        self._on_lost = on_lost
        self._clock = clock or RealClock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: LeaseError | None = None

    @property
    def lease(self) -> Lease:
        """The lease as last renewed."""
        return self._lease

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"roost-lease-{self._lease.name}", daemon=True
        )
        self._thread.start()

    def stop(self, *, release: bool = True, timeout: float = 10.0) -> None:
        """Stop renewing; release the lease unless it was lost or ``release`` is False."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if release and self.lost is None:
            try:
                self.backend.release(self._lease.name, self._holder)
            except LeaseError as exc:
                log.warning("could not release lease %r: %s", self._lease.name, exc)

    def _run(self) -> None:
        last_success = self._clock.monotonic()
        while not self._stop.wait(self.interval):
            attempt = self._clock.monotonic()
            try:
                self._lease = self.backend.renew(self._lease.name, self._holder)
                last_success = attempt
            except LeaseLost as exc:
                self._lose(exc)
                return
            except LeaseError as exc:
                log.warning("could not renew lease %r: %s", self._lease.name, exc)
                if self._clock.monotonic() - last_success >= self._lease.duration_seconds:
                    self._lose(exc)
                    return

    def _lose(self, exc: LeaseError) -> None:
        self.lost = exc
        log.warning("lease %r is lost: %s", self._lease.name, exc)
        if self._on_lost is not None:
            try:
                self._on_lost(exc)
            except Exception:
                log.exception("on_lost callback for lease %r failed", self._lease.name)

    def __repr__(self) -> str:
        state = "lost" if self.lost else ("stopped" if self._stop.is_set() else "keeping")
        return f"LeaseKeeper({self._lease.name!r}, holder={self._holder!r}, {state})"
