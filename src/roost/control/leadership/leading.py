"""The control plane's leader-election gate: of several ``roost serve`` processes on one store
(or one etcd), exactly one runs the reconcilers, and every write it makes carries its fence.

    with open_workspace(...) as ws, open_gate(ws.store, single_instance=flag) as gate:
        gate.on_started_leading(lambda fence: reconcilers.start(fence))
        gate.on_stopped_leading(reconcilers.stop)
        ...
        if gate.is_leader:
            ws.store.rollouts.transition(..., fence=gate.fence)

The backend comes from the environment (``ROOST_LEASE_BACKEND``: ``sql`` by default, the state
store itself; ``etcd`` with ``ROOST_ETCD_URL``; ``kubernetes``). With etcd or Kubernetes the new
leader registers its fencing token with the store before it is told it leads
(:mod:`roost.leases.mirroring`), so the store refuses a deposed leader's writes either way.

Timings come from ``ROOST_LEASE_DURATION``, ``ROOST_LEASE_RENEW_DEADLINE`` and
``ROOST_LEASE_RETRY_PERIOD`` (seconds; defaults 15, 10, 2, client-go's). ``single_instance``
skips the election: the process takes the lease at once and leads until it stops.

A ``kill -9``-ed leader releases nothing: a follower takes over once the lease has gone
unrenewed for ``lease duration`` on its own clock, i.e. within lease duration + retry period of
the leader's last renewal. A cleanly stopped leader releases the lease, so the hand-over is
immediate.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from types import TracebackType

from roost.clock import Clock
from roost.leases import (
    ElectionConfig,
    ElectionConfigError,
    Fence,
    LeaderElector,
    Lease,
    LeaseBackend,
    LeaseError,
    SqlLeaseBackend,
    adopt_tenure,
    new_identity,
    open_backend,
    release_tenure,
)
from roost.store import Store

CONTROL_LEASE = "control-plane"
"""The lease ``roost serve`` processes elect their leader with."""

log = logging.getLogger("roost.control")

DEFAULT_LEASE_NAME = "roost/control-plane"
ENV_LEASE_DURATION = "ROOST_LEASE_DURATION"
ENV_RENEW_DEADLINE = "ROOST_LEASE_RENEW_DEADLINE"
ENV_RETRY_PERIOD = "ROOST_LEASE_RETRY_PERIOD"


class NotLeading(LeaseError):
    """A control-plane write was attempted by a process that does not lead."""


class LeadershipGate:
    """Runs the election for one control-plane process on a background thread.

    ``is_leader`` and ``fence`` may be read from any thread. Callbacks run on the election
    thread; keep them short (start or signal your own work).
    """

    def __init__(
        self,
        store: Store,
        backend: LeaseBackend,
        config: ElectionConfig,
        *,
        clock: Clock | None = None,
        owns_backend: bool = True,
    ) -> None:
        self.store = store
        self.backend = backend
        self.config = config
        self._owns_backend = owns_backend
        # The store checks fences against its own leases table: a lease kept anywhere else
        # must be registered there before its holder may write.
        self._mirrored = not (isinstance(backend, SqlLeaseBackend) and backend.store is store)
        self._started_callbacks: list[Callable[[Fence], None]] = []
        self._stopped_callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._announced: Fence | None = None  # the tenure the callbacks were told about
        self._elector = LeaderElector(
            backend,
            config,
            clock=clock,
            on_started_leading=self._started,
            on_stopped_leading=self._stopped,
            on_new_leader=self._new_leader,
            prepare=self._adopt if self._mirrored else None,
        )
        self._stopped_once = False

    # -- what the control plane asks -------------------------------------------------------

    @property
    def identity(self) -> str:
        return self.config.identity

    @property
    def is_leader(self) -> bool:
        return self._elector.is_leader

    @property
    def fence(self) -> Fence | None:
        """Attach to every control-plane write; None while not leading."""
        return self._elector.fence

    def require_fence(self) -> Fence:
        """The fence, or :class:`NotLeading` (with a hint naming the leader) if we follow."""
        fence = self._elector.fence
        if fence is None:
            leader = self.leader
            raise NotLeading(
                f"this process ({self.identity}) does not lead the control plane",
                hint=f"{leader} leads it; send the request there"
                if leader
                else "no leader yet: an election is under way, retry in a moment",
            )
        return fence

    @property
    def leader(self) -> str | None:
        """Who leads, as last seen (None: nobody, as far as we know)."""
        return self._elector.leader

    def wait_for_leadership(self, timeout: float | None = None) -> bool:
        return self._elector.wait_for_leadership(timeout)

    def on_started_leading(self, callback: Callable[[Fence], None]) -> None:
        """Call ``callback(fence)`` whenever this process becomes the leader, and at once if
        it already leads (so registering after ``start()`` misses nothing)."""
        with self._lock:
            self._started_callbacks.append(callback)
            current = self._announced
        if current is not None:
            callback(current)

    def on_stopped_leading(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever this process stops leading (lost, stepped down, or
        shutting down)."""
        with self._lock:
            self._stopped_callbacks.append(callback)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LeadershipGate:
        self._elector.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Leave the election: a leader releases the lease (and its registration with the
        store), so a follower takes over at once. Idempotent."""
        if self._stopped_once:
            return
        self._stopped_once = True
        self._elector.stop(timeout)
        if self._mirrored:
            try:
                release_tenure(self.store, self.config.lease_name, self.config.identity)
            except Exception as exc:  # stopping: report, never raise
                log.warning("could not release the store's copy of the lease: %s", exc)
        if self._owns_backend:
            self.backend.close()

    def __enter__(self) -> LeadershipGate:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else "follower"
        return (
            f"LeadershipGate({self.config.lease_name!r}, identity={self.identity!r}, {role}, "
            f"backend={self.backend!r})"
        )

    # -- election callbacks ----------------------------------------------------------------

    def _adopt(self, lease: Lease) -> None:
        adopt_tenure(self.store, lease)

    def _started(self, fence: Fence) -> None:
        log.info("%s leads the control plane (fencing token %d)", self.identity, fence.token)
        with self._lock:
            self._announced = fence
            callbacks = list(self._started_callbacks)
        for callback in callbacks:
            callback(fence)

    def _stopped(self) -> None:
        log.info("%s no longer leads the control plane", self.identity)
        with self._lock:
            self._announced = None
            callbacks = list(self._stopped_callbacks)
        for callback in callbacks:
            callback()

    def _new_leader(self, holder: str | None) -> None:
        log.info("control-plane leader is now %s", holder or "nobody")


def election_config(
    *,
    identity: str,
    lease_name: str = DEFAULT_LEASE_NAME,
    single_instance: bool = False,
    environ: Mapping[str, str] | None = None,
) -> ElectionConfig:
    """The control plane's election timings from the environment (see module doc)."""
    env = os.environ if environ is None else environ
    return ElectionConfig(
        lease_name=lease_name,
        identity=identity,
        lease_duration=_seconds(env, ENV_LEASE_DURATION, 15.0),
        renew_deadline=_seconds(env, ENV_RENEW_DEADLINE, 10.0),
        retry_period=_seconds(env, ENV_RETRY_PERIOD, 2.0),
        single_instance=single_instance,
    )


def open_gate(
    store: Store,
    *,
    single_instance: bool = False,
    identity: str | None = None,
    lease_name: str = DEFAULT_LEASE_NAME,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> LeadershipGate:
    """A gate (not started yet; use ``with`` or ``start()``) on the configured backend.

    Raises :class:`~roost.leases.ElectionConfigError` for bad timings and
    :class:`~roost.leases.BackendConfigError` for a bad backend configuration, both with a hint.
    """
    config = election_config(
        identity=identity or new_identity("serve"),
        lease_name=lease_name,
        single_instance=single_instance,
        environ=environ,
    )
    backend = open_backend(store, environ=environ, clock=clock)
    return LeadershipGate(store, backend, config, clock=clock)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ElectionConfigError(
            f"{name}={text!r} is not a number of seconds", hint=f"e.g. {name}={default:g}"
        ) from None
