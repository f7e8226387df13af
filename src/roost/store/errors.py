"""What the store raises.

Every failure a user can cause or meet (a mistyped URL, a database that is down, a database from a
newer roost, a lost race) surfaces as a :class:`StoreError` subclass whose ``str()`` is one line
that names the database (with its password redacted) and whose ``hint`` says what to do next.
Raw SQLAlchemy or driver exceptions never cross the store's public API: the CLI prints these
errors as they are, without a traceback.
"""

from __future__ import annotations

from roost._util.errors import HintedError


class StoreError(HintedError):
    """Base of every error the store raises on purpose."""


class BadDatabaseURL(StoreError):
    """The database URL cannot be parsed, or names a database roost does not support."""

    default_hint = (
        "use postgresql+psycopg://user@host:port/dbname for PostgreSQL "
        "or sqlite:///path/to/state.db for SQLite"
    )


class DatabaseUnreachable(StoreError):
    """The database could not be reached or opened (refused, bad credentials, no such database)."""

    default_hint = (
        "check that the database server is running, that the URL (host, port, user, database "
        "name) is right, and that this machine may connect to it"
    )


class DatabaseBusy(StoreError):
    """The database stayed locked by another writer for longer than the busy timeout."""

    default_hint = "another roost process is holding a long write; retry in a moment"


class SchemaTooNew(StoreError):
    """The database was migrated by a newer roost than this one."""

    default_hint = "upgrade roost to the version that last wrote this database"


class StaleFencingToken(StoreError):
    """A fenced write carried a token that is no longer the lease's current one."""

    default_hint = (
        "this process no longer holds the lease it acted under; it must re-acquire the lease "
        "and re-read state before writing again"
    )


class NotFound(StoreError):
    """The row asked for does not exist."""


class Conflict(StoreError):
    """Someone else changed the row first (optimistic concurrency lost) or a uniqueness rule
    was broken."""

    default_hint = "re-read the current state and decide again"


class Ambiguous(StoreError):
    """A leading part of an id names more than one row; the message lists them."""

    default_hint = "give more characters of the id"
