"""Running for leadership: performs :mod:`roost.leases.electing`'s decisions on a backend.

    elector = LeaderElector(backend, ElectionConfig("control-plane", identity),
                            on_started_leading=start_reconcilers,
                            on_stopped_leading=stop_reconcilers)
    elector.start()          # a daemon thread
    ...
    elector.stop()           # releases the lease if we hold it (release_on_stop)

The callbacks run on the election thread and should return quickly (start or signal your own
work). ``on_started_leading`` gets the :class:`~roost.store.Fence` to attach to every write made
under this leadership; after ``on_stopped_leading`` that fence is stale.

A backend that fails (database or etcd unreachable) never crashes the loop: the error is
logged, followers retry every retry period, and a leader keeps trying until its renew deadline,
then steps down.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable

from roost.clock import Clock, RealClock
from roost.leases.electing import (
    Acquire,
    Election,
    ElectionConfig,
    Observe,
    Renew,
    StepDown,
    Wait,
)
from roost.leases.errors import LeaseLost
from roost.leases.protocol import LeaseBackend
from roost.leases.records import Lease
from roost.store import Fence

log = logging.getLogger("roost.leases")


class LeaderElector:
    """Campaigns for ``config.lease_name`` on ``backend``.

    Drive it with :meth:`start`/:meth:`stop` (a thread, real time), or call :meth:`step`
    yourself (one backend call per step; it returns how long to wait before the next one), e.g.
    on a virtual clock. ``prepare`` runs after a successful acquisition and before
    ``on_started_leading``; if it raises, the lease is released and the election goes on as if
    it had been lost (the control-plane gate uses it to register an etcd or Kubernetes fencing
    token with the store). Do not call ``step`` while the thread runs.
    """

    def __init__(
        self,
        backend: LeaseBackend,
        config: ElectionConfig,
        *,
        clock: Clock | None = None,
        on_started_leading: Callable[[Fence], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
        on_new_leader: Callable[[str | None], None] | None = None,
        prepare: Callable[[Lease], None] | None = None,
    ) -> None:
        self.backend = backend
        self.config = config
        self._clock = clock or RealClock()
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._prepare = prepare
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography
        self._election = Election(config)
        self._leader: str | None = None
        self._stop = threading.Event()
        self._leading = threading.Event()
        self._thread: threading.Thread | None = None
        self._shut_down = False

    # -- state -----------------------------------------------------------------------------

    @property
    def state(self) -> Election:
        """The current election state (immutable snapshot)."""
        return self._election

    @property
    def is_leader(self) -> bool:
        return self._election.leading

    @property
    def lease(self) -> Lease | None:
        """Our lease while we lead."""
        election = self._election
        return election.lease if election.leading else None

    @property
    def fence(self) -> Fence | None:
        """The fence for writes made as leader; None while not leading."""
        lease = self.lease
        return None if lease is None else lease.fence()

    @property
    def leader(self) -> str | None:
        """The holder we last saw (ourselves while leading), or None if the lease was free."""
        return self._leader

    def wait_for_leadership(self, timeout: float | None = None) -> bool:
        """Block until we lead (True) or ``timeout`` seconds pass (False)."""
        return self._leading.wait(timeout)

    # -- driving ---------------------------------------------------------------------------

    def step(self) -> float:
        """Perform the next action; return the seconds to wait before the next step (0: at
        once; ``math.inf``: nothing more to do until stopped)."""
        now = self._clock.monotonic()
        action = self._election.plan(now)
        if isinstance(action, Wait):
            return max(0.0, action.seconds)
        log.debug("%s at %.3f: %s", self.config.identity, now, action)
        if isinstance(action, Observe):
            self._observe(now)
        elif isinstance(action, Acquire):
            self._acquire(now, action)
        elif isinstance(action, Renew):
            self._renew(now)
        elif isinstance(action, StepDown):
            log.warning(
                "%s steps down from %r: %s",
                self.config.identity,
                self.config.lease_name,
                action.reason,
            )
            self._election = self._election.stepped_down(now)
            self._stopped_leading()
        return 0.0

    def run(self) -> None:
        """Campaign until :meth:`stop` (waiting in real time), then shut down."""
        try:
            while not self._stop.is_set():
                wait = self.step()
                if wait > 0:
                    self._stop.wait(None if math.isinf(wait) else wait)
        finally:
            self.shutdown()

    def start(self) -> None:
        """Run :meth:`run` on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("this elector has already been started")
        self._thread = threading.Thread(
            target=self.run, name=f"roost-election-{self.config.lease_name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop campaigning; a leader releases the lease (``release_on_stop``) so a follower
        takes over at once instead of after ``lease_duration``. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self.shutdown()

    def shutdown(self) -> None:
        """Leave the election (what :meth:`stop` does on the election thread). Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stop.set()
        if self._election.leading and self.config.release_on_stop:
            try:
                self.backend.release(self.config.lease_name, self.config.identity)
            except Exception as exc:  # shutting down: report, never raise
                log.warning(
                    "%s could not release %r: %s", self.config.identity, self.config.lease_name, exc
                )
        was_leading = self._election.leading
        self._election = self._election.stopped()
        if was_leading:
            self._stopped_leading()

    # -- actions ---------------------------------------------------------------------------

    def _observe(self, now: float) -> None:
        try:
            lease = self.backend.get(self.config.lease_name)
        except Exception as exc:  # a backend failure must not end the election
            self._report(exc, "read")
            self._election = self._election.observe_failed(now, draw=self._random.random())
            return
        self._election = self._election.observed(lease, now, draw=self._random.random())
        self._notice(None if lease is None else lease.holder)

    def _acquire(self, started: float, action: Acquire) -> None:
        config = self.config
        draw = self._random.random()
        try:
            lease = self.backend.acquire(
                config.lease_name,
                config.identity,
                duration_seconds=action.duration_seconds,
                expected_version=action.expected_version,
            )
        except Exception as exc:
            self._report(exc, "acquire")
            self._election = self._election.acquire_failed(self._clock.monotonic(), draw=draw)
            return
        if lease is not None and self._prepare is not None and not self._prepared(lease):
            lease = None
        self._election = self._election.acquired(
            lease, started=started, now=self._clock.monotonic(), draw=draw
        )
        if lease is not None:
            log.info(
                "%s leads %r with fencing token %d",
                config.identity,
                config.lease_name,
                lease.fencing_token,
            )
            self._notice(config.identity)
            self._leading.set()
            self._call(self._on_started, lease.fence())

    def _prepared(self, lease: Lease) -> bool:
        assert self._prepare is not None
        try:
            self._prepare(lease)
        except Exception as exc:
            log.warning(
                "%s won %r but could not prepare to lead: %s",
                self.config.identity,
                self.config.lease_name,
                exc,
            )
            try:
                self.backend.release(self.config.lease_name, self.config.identity)
            except Exception as release_error:
                self._report(release_error, "release")
            return False
        return True

    def _renew(self, started: float) -> None:
        config = self.config
        try:
            lease = self.backend.renew(config.lease_name, config.identity)
        except LeaseLost as exc:
            log.warning("%s lost %r: %s", config.identity, config.lease_name, exc)
            self._election = self._election.renew_failed(self._clock.monotonic(), lost=True)
            self._stopped_leading()
            return
        except Exception as exc:
            self._report(exc, "renew")
            self._election = self._election.renew_failed(self._clock.monotonic(), lost=False)
            return
        self._election = self._election.renewed(lease, started=started)

    # -- callbacks -------------------------------------------------------------------------

    def _stopped_leading(self) -> None:
        self._leading.clear()
        self._call(self._on_stopped)

    def _notice(self, holder: str | None) -> None:
        if holder != self._leader:
            self._leader = holder
            if self._on_new_leader is not None:
                self._call(self._on_new_leader, holder)

    def _call(self, callback: Callable[..., None] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            # A failing callback is the application's bug; the election must go on.
            log.exception("election callback %r failed", callback)

    def _report(self, exc: Exception, what: str) -> None:
        hint = getattr(exc, "hint", "")
        log.warning(
            "%s could not %s lease %r: %s%s",
            self.config.identity,
            what,
            self.config.lease_name,
            exc,
            f" ({hint})" if hint else "",
        )

    def __repr__(self) -> str:
        return (
            f"LeaderElector({self.config.lease_name!r}, identity={self.config.identity!r}, "
            f"role={self._election.role.value}, backend={self.backend!r})"
        )
