"""Leases, leader election with fencing tokens, and deploy locks that expire.

    backend = open_backend(store)              # sql (default), etcd or kubernetes
    elector = LeaderElector(backend, ElectionConfig("control-plane", new_identity()),
                            on_started_leading=lambda fence: ...)
    elector.start()
    store.rollouts.transition(..., fence=elector.fence)   # refused once we were deposed

A :class:`Lease` has a holder, a duration, acquire/renew times, a transition count and a
fencing token that grows with every change of holder. Expiry is judged by whoever watches the
lease, on its own monotonic clock (:mod:`roost.leases.observing`), never by comparing another
host's timestamps with ours. Backends (one module each): :mod:`roost.leases.sql` (the state
store: SQLite or PostgreSQL), :mod:`roost.leases.etcd` and :mod:`roost.leases.kubernetes`; the
last two import their clients and are therefore not imported here.
"""

from roost.leases.campaigning import LeaderElector
from roost.leases.configuring import backend_kind, new_identity, open_backend
from roost.leases.electing import (
    SINGLE_INSTANCE_LEASE_SECONDS,
    Election,
    ElectionConfig,
    Role,
)
from roost.leases.errors import (
    BackendConfigError,
    BackendUnavailable,
    ElectionConfigError,
    LeaseError,
    LeaseLost,
    NotHolder,
)
from roost.leases.keeping import LeaseKeeper
from roost.leases.locking import Lock, LockBusy, Locks, NotLocked
from roost.leases.mirroring import adopt_tenure, release_tenure
from roost.leases.observing import Observation, Observer, observe
from roost.leases.protocol import LeaseBackend
from roost.leases.records import Fence, Lease
from roost.leases.sql import SqlLeaseBackend

__all__ = [
    "SINGLE_INSTANCE_LEASE_SECONDS",
    "BackendConfigError",
    "BackendUnavailable",
    "Election",
    "ElectionConfig",
    "ElectionConfigError",
    "Fence",
    "LeaderElector",
    "Lease",
    "LeaseBackend",
    "LeaseError",
    "LeaseKeeper",
    "LeaseLost",
    "Lock",
    "LockBusy",
    "Locks",
    "NotHolder",
    "NotLocked",
    "Observation",
    "Observer",
    "Role",
    "SqlLeaseBackend",
    "adopt_tenure",
    "backend_kind",
    "new_identity",
    "observe",
    "open_backend",
    "release_tenure",
]
