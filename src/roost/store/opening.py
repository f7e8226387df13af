"""``open_store``: resolve the URL, connect, migrate, and hand out the repositories."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

from roost.clock import Clock, RealClock
from roost.store.applied import AppliedProjects
from roost.store.builds import Builds
from roost.store.connecting import Database
from roost.store.credentials import RoleBindings, Tokens
from roost.store.deliveries import Deliveries
from roost.store.environments import Environments
from roost.store.events import Events
from roost.store.leases import Leases
from roost.store.migrating import migrate
from roost.store.outbox import Doorbell, Outbox
from roost.store.quarantines import Quarantines
from roost.store.releases import Releases
from roost.store.rollouts import Rollouts
from roost.store.schedule_runs import ScheduleRuns
from roost.store.secrets import Secrets
from roost.store.urls import Dialect, resolve_url


class Store:
    """An open state store. Use as a context manager or call :meth:`close`.

    Thread-safe: every method runs in its own transaction on a pooled connection.
    """

    releases: Releases
    rollouts: Rollouts
    events: Events
    leases: Leases
    environments: Environments
    builds: Builds
    applied: AppliedProjects
    outbox: Outbox
    deliveries: Deliveries
    quarantines: Quarantines
    schedule_runs: ScheduleRuns
    secrets: Secrets
    tokens: Tokens
    roles: RoleBindings

    def __init__(self, db: Database, *, clock: Clock, schema_revision: str) -> None:
        self._db = db
        self.clock = clock
        self.schema_revision = schema_revision
        self.releases = Releases(db, clock)
        self.rollouts = Rollouts(db, clock)
        doorbell = Doorbell()
        self.events = Events(db, clock, doorbell)
        self.leases = Leases(db, clock)
        self.environments = Environments(db, clock)
        self.builds = Builds(db, clock)
        self.applied = AppliedProjects(db, clock)
        self.outbox = Outbox(db, clock, doorbell)
        self.deliveries = Deliveries(db, clock)
        self.quarantines = Quarantines(db, clock)
        self.schedule_runs = ScheduleRuns(db, clock)
        self.secrets = Secrets(db, clock)
        self.tokens = Tokens(db, clock)
        self.roles = RoleBindings(db, clock)

    @property
    def url(self) -> str:
        """The database URL, password redacted."""
        return self._db.redacted_url

    @property
    def dialect(self) -> Dialect:
        return self._db.dialect

    def ping(self) -> None:
        """Round-trip to the database; raises :class:`DatabaseUnreachable` when it is gone."""
        with self._db.reading() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Close every connection. Idempotent; the store cannot be used afterwards."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r}, schema_revision={self.schema_revision!r})"


def open_store(
    url: str | None = None, *, root: Path | None = None, clock: Clock | None = None
) -> Store:
    """Open (creating and migrating as needed) the state store.

    ``url`` wins over ``ROOST_DATABASE_URL``, which wins over SQLite at
    ``<root>/.roost/state.db`` (``root`` defaults to the working directory). Raises
    :class:`BadDatabaseURL`, :class:`DatabaseUnreachable` or :class:`SchemaTooNew`.
    """
    db = Database(resolve_url(url, root=root))
    try:
        revision = migrate(db)
    except BaseException:
        db.close()
        raise
    return Store(db, clock=RealClock() if clock is None else clock, schema_revision=revision)
