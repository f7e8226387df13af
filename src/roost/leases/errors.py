"""What lease backends and leader election raise.

Every error carries a one-line message and a ``hint`` (what to do next), like the store's
errors, so the CLI prints them without a traceback and an agent logs them without crashing.
"""

from __future__ import annotations

from roost._util.errors import HintedError


class LeaseError(HintedError):
    """Base of every error :mod:`roost.leases` raises on purpose."""


class LeaseLost(LeaseError):
    """A renewal failed because the caller no longer holds the lease (released, deleted, or
    taken over by someone else after it expired)."""

    default_hint = "stop acting under this lease; acquire it again and re-read state first"


class NotHolder(LeaseError):
    """Someone tried to release a lease that another holder holds."""

    default_hint = (
        "only the holder releases a lease; to break someone else's lock use "
        "`roost lock release NAME --reason ...` (audited)"
    )


class BackendUnavailable(LeaseError):
    """The lease backend (database, etcd, Kubernetes API) could not be reached or failed."""

    default_hint = "check that the lease backend is running and reachable from this machine"


class BackendConfigError(LeaseError):
    """The lease backend is configured wrongly (unknown kind, missing or malformed URL)."""

    default_hint = (
        "set ROOST_LEASE_BACKEND to sql (default), etcd (with ROOST_ETCD_URL) or kubernetes"
    )


class ElectionConfigError(LeaseError, ValueError):
    """Leader-election timings break client-go's invariants
    (lease duration > renew deadline > 1.2 x retry period, all positive)."""

    default_hint = (
        "use e.g. lease duration 15s, renew deadline 10s, retry period 2s (client-go's defaults)"
    )
