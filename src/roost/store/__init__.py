"""roost's state store: releases, rollouts and their timelines, environment schema versions,
the event log and leases, in SQLite (default, ``.roost/state.db``) or PostgreSQL.

    with open_store() as store:
        release = store.releases.create("web", artifact=..., config=..., secrets=...,
                                        schema_requires=">=3", created_by="ci")

Every write that a control-plane component makes under a lease takes ``fence=`` and is refused
with :class:`StaleFencingToken` if the lease has moved on. Records are frozen dataclasses.
"""

from roost.store.applied import project_digest
from roost.store.chaining import GENESIS, ChainReport
from roost.store.errors import (
    Ambiguous,
    BadDatabaseURL,
    Conflict,
    DatabaseBusy,
    DatabaseUnreachable,
    NotFound,
    SchemaTooNew,
    StaleFencingToken,
    StoreError,
)
from roost.store.migrating import head_revision
from roost.store.opening import Store, open_store
from roost.store.quarantines import QuarantineRecord
from roost.store.records import (
    AppliedProjectRecord,
    EnvironmentSchemaRecord,
    EventRecord,
    Fence,
    LeaseRecord,
    ReleaseRecord,
    RoleBindingRecord,
    RolloutRecord,
    SecretVersionRecord,
    TimelineEntry,
    TokenRecord,
)
from roost.store.schedule_runs import Claim, ScheduleRunRecord
from roost.store.urls import ENV_VAR

__all__ = [
    "ENV_VAR",
    "GENESIS",
    "Ambiguous",
    "AppliedProjectRecord",
    "BadDatabaseURL",
    "ChainReport",
    "Claim",
    "Conflict",
    "DatabaseBusy",
    "DatabaseUnreachable",
    "EnvironmentSchemaRecord",
    "EventRecord",
    "Fence",
    "LeaseRecord",
    "NotFound",
    "QuarantineRecord",
    "ReleaseRecord",
    "RoleBindingRecord",
    "RolloutRecord",
    "ScheduleRunRecord",
    "SchemaTooNew",
    "SecretVersionRecord",
    "StaleFencingToken",
    "Store",
    "StoreError",
    "TimelineEntry",
    "TokenRecord",
    "head_revision",
    "open_store",
    "project_digest",
]
