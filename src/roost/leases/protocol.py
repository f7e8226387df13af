"""The lease backend protocol: one module per backend (``sql``, ``etcd``, ``kubernetes``).

A backend stores lease records and changes them atomically; it never decides that a lease held
by someone else has expired. That judgement belongs to the caller, who watches the record on
its own monotonic clock (:mod:`roost.leases.observing`, client-go's ``observedTime`` rule) and
then takes the lease over by handing back the exact version it watched: a compare-and-swap on
the SQL row version, etcd's ``mod_revision`` or Kubernetes' ``resourceVersion``. So no host ever
compares a timestamp written by another host's clock with its own, and clock skew is harmless.

Every method may raise :class:`~roost.leases.errors.BackendUnavailable`; bad arguments raise
``ValueError``.
"""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from roost.leases.records import Lease


@runtime_checkable
class LeaseBackend(Protocol):
    """Where leases live."""

    #: Short name of the backend for messages and tables: ``sql``, ``etcd``, ``kubernetes``.
    kind: str

    def get(self, name: str) -> Lease | None:
        """The lease ``name``, or None if there is no record (which means it is free)."""
        ...

    def list(self) -> builtins.list[Lease]:
        """Every lease record, by name."""
        ...

    def acquire(
        self,
        name: str,
        holder: str,
        *,
        duration_seconds: float,
        expected_version: str | None = None,
        reason: str | None = None,
    ) -> Lease | None:
        """Take the lease for ``holder`` and return it, or return None if it is not free.

        Free means: no record, or a released one (a new tenure starts: new fencing token,
        ``transitions`` + 1 unless the record is new); or already ``holder``'s (renewed, same
        tenure and token; ``reason`` replaced when given). A lease held by someone else is taken
        over only when ``expected_version`` is still its version: the caller watched that exact
        record for longer than its duration. Losing a race returns None, never raises.
        """
        ...

    def renew(self, name: str, holder: str, *, duration_seconds: float | None = None) -> Lease:
        """Extend ``holder``'s claim from now (optionally with a new duration), keeping the
        token. :class:`~roost.leases.errors.LeaseLost` if ``holder`` no longer holds it."""
        ...

    def release(self, name: str, holder: str) -> Lease | None:
        """Give the lease up so anyone may take it at once; returns the released record, or
        None if there is no record. Releasing a free lease is a no-op;
        :class:`~roost.leases.errors.NotHolder` if someone else holds it."""
        ...

    def delete(self, name: str) -> bool:
        """Remove the record whoever holds it (an administrative act that causes a new
        election); True if there was one. Fencing tokens keep growing afterwards."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...
