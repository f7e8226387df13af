"""What a lease backend hands out: :class:`Lease`, one plain frozen record for every backend.

``version`` is opaque: two reads of the same lease return equal versions exactly when nothing
changed in between (SQL: fencing token and row version; etcd: the key's ``mod_revision``;
Kubernetes: ``metadata.resourceVersion``). Compare versions for equality only, and hand one back
to :meth:`~roost.leases.protocol.LeaseBackend.acquire` to take over a lease you watched expire.

The timestamps were written with the *holder's* wall clock. They are for people to read; expiry
is judged by :mod:`roost.leases.observing` on the observer's own monotonic clock instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from roost.store import Fence


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease: who holds it, for how long per renewal, since when, and its fencing token.

    ``holder`` is None once the lease is released. ``fencing_token`` grows on every change of
    holder (a new *tenure*) and never repeats for a name, even across delete and recreate;
    renewals keep it. ``transitions`` counts changes of holder since the record was created.
    """

    name: str
    holder: str | None
    duration_seconds: float
    acquired_at: datetime
    renewed_at: datetime
    transitions: int
    fencing_token: int
    version: str
    reason: str | None = None

    @property
    def held(self) -> bool:
        return self.holder is not None

    @property
    def expires_at(self) -> datetime:
        """``renewed_at + duration`` by the holder's clock: informational only (see module doc)."""
        return self.renewed_at + timedelta(seconds=self.duration_seconds)

    def fence(self) -> Fence:
        """The fence the holder attaches to its writes."""
        return Fence(self.name, self.fencing_token)

    def same_state(self, other: Lease | None) -> bool:
        """Whether ``other`` is this exact record state (nothing written in between)."""
        return other is not None and (
            other.version,
            other.holder,
            other.fencing_token,
        ) == (self.version, self.holder, self.fencing_token)


__all__ = ["Fence", "Lease"]
