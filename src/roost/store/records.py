"""What the store hands out: frozen, plain records (never ORM objects or rows).

Field names match the table columns, so a repository builds a record with ``Record(**row)``.
JSON fields come back as fresh ``dict``s on every read; treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CLOUDEVENTS_SPECVERSION = "1.0"


@dataclass(frozen=True, slots=True)
class Fence:
    """Proof of leadership a writer attaches to a write: the lease it holds and the fencing
    token it was given when it acquired it. The store refuses the write unless the lease still
    has that token and is still held."""

    lease_name: str
    token: int


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    """An immutable release: artifact + config snapshot + secret versions + schema range."""

    id: str
    service: str
    seq: int
    artifact: str
    config: dict[str, Any]
    secrets: dict[str, Any]
    schema_requires: str
    schema_migrates_to: int | None
    created_at: datetime
    created_by: str
    notes: str


@dataclass(frozen=True, slots=True)
class RolloutRecord:
    """A rollout's persisted state; ``version`` grows by one on every transition."""

    id: str
    service: str
    environment: str
    from_release: str | None
    to_release: str
    strategy: str
    state: str
    step: int
    data: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One append-only line of a rollout's timeline; ``id`` orders entries."""

    id: int
    rollout_id: str
    at: datetime
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored CloudEvents 1.0 event; ``seq`` is the store's insertion order, ``hash`` seals
    it to the event before it (``prev_hash``)."""

    seq: int
    id: str
    source: str
    type: str
    subject: str | None
    time: datetime
    datacontenttype: str | None
    data: Any
    actor: str | None
    # Links in the tamper-evident chain (see roost.store.chaining); not CloudEvents attributes.
    prev_hash: str | None = None
    hash: str | None = None
    extensions: dict[str, Any] | None = None
    """CloudEvents extension attributes beyond ``actor``: ``correlationid``, ``causationid``,
    ``chaindepth`` for an event an automation caused (see :mod:`roost.store.causation`)."""
    correlation_id: str | None = None
    """``extensions["correlationid"]``, indexed: the chain this event belongs to."""

    @property
    def specversion(self) -> str:
        return CLOUDEVENTS_SPECVERSION

    def to_cloudevent(self) -> dict[str, Any]:
        """The event in CloudEvents JSON format (``actor`` as an extension attribute)."""
        envelope: dict[str, Any] = {
            "specversion": CLOUDEVENTS_SPECVERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat().replace("+00:00", "Z"),
        }
        optional = {
            "subject": self.subject,
            "datacontenttype": self.datacontenttype,
            "actor": self.actor,
        }
        envelope.update({key: value for key, value in optional.items() if value is not None})
        if self.extensions:
            envelope.update(self.extensions)
        if self.data is not None:
            envelope["data"] = self.data
        return envelope


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """A lease. ``holder`` is None once released; ``fencing_token`` changes (upwards) with
    every new tenure and never repeats for a name, even across delete and recreate. ``reason``
    says why it is held (deploy locks), or is None."""

    name: str
    holder: str | None
    duration_seconds: float
    acquired_at: datetime
    renewed_at: datetime
    transitions: int
    fencing_token: int
    version: int
    reason: str | None = None

    @property
    def held(self) -> bool:
        return self.holder is not None

    @property
    def expires_at(self) -> datetime:
        return self.renewed_at + timedelta(seconds=self.duration_seconds)

    def expired(self, now: datetime) -> bool:
        """Whether the holder's claim has run out at ``now`` (a released lease counts)."""
        return self.holder is None or now >= self.expires_at

    def fence(self) -> Fence:
        """The fence a holder attaches to its writes."""
        return Fence(self.name, self.fencing_token)


@dataclass(frozen=True, slots=True)
class EnvironmentSchemaRecord:
    """The database schema version an environment currently runs."""

    environment: str
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AppliedProjectRecord:
    """A roost.yaml the control plane applied: its text, ``sha256:`` digest, who and when."""

    seq: int
    digest: str
    text: str
    applied_by: str
    applied_at: datetime


@dataclass(frozen=True, slots=True)
class SecretVersionRecord:
    """One version of a sealed secret: the value only in ``ciphertext`` (encrypted), never in
    clear. ``scope`` is the environment it is for, or "" for every environment."""

    name: str
    version: int
    scope: str
    ciphertext: str
    wrapped_key: str
    kek_id: str
    digest: str
    created_at: datetime
    created_by: str

    def __repr__(self) -> str:  # the ciphertext has no place in a log line
        return (
            f"SecretVersionRecord({self.name!r}, version={self.version}, scope={self.scope!r}, "
            f"kek_id={self.kek_id!r})"
        )


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token: its name (the subject it authenticates as), never the token itself."""

    name: str
    token_hash: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class RoleBindingRecord:
    """``subject`` holds ``role`` on the environments and services the patterns match."""

    id: int
    subject: str
    role: str
    environment: str
    service: str
    created_at: datetime
    created_by: str
