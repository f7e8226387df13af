"""The agent's heartbeat: a node lease in the state store, renewed while the agent lives.

The control plane reads it to tell a dead agent from a quiet one: a lease that nobody renewed for
its duration means the agent is gone (NotReady), however idle a live one may be. A store that is
briefly unreachable must never take the data plane down, so failures are logged and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from roost.clock import Clock
from roost.store import Store, StoreError

log = logging.getLogger(__name__)

AGENT_LEASE_PREFIX = "agent-"
DEFAULT_DURATION = 15.0
DEFAULT_INTERVAL = 5.0


def node_lease_name(node: str | None = None) -> str:
    """The lease an agent on ``node`` (default: this host) renews."""
    return f"{AGENT_LEASE_PREFIX}{node or socket.gethostname()}"


def holder_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def heartbeat_forever(
    store: Store,
    *,
    clock: Clock,
    name: str | None = None,
    holder: str | None = None,
    duration: float = DEFAULT_DURATION,
    interval: float = DEFAULT_INTERVAL,
) -> None:
    """Renew the node lease every ``interval`` seconds until cancelled; release it then."""
    lease = name or node_lease_name()
    me = holder or holder_identity()
    try:
        while True:
            try:
                got = await asyncio.to_thread(
                    store.leases.try_acquire, lease, me, duration_seconds=duration
                )
                if got is None:
                    log.warning("node lease %s is held by another agent", lease)
            except StoreError as exc:
                log.warning("heartbeat not written: %s", exc)
            await clock.asleep(interval)
    finally:
        # If the store is unreachable now, the lease simply expires.
        with contextlib.suppress(StoreError):
            await asyncio.to_thread(store.leases.release, lease, me)
