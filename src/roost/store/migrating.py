"""Bring a database's schema up to this roost's newest migration, or refuse a newer one.

Runs on every open. The common case (already at head) costs one read. Otherwise the upgrade runs
in one write transaction that first takes the database's migration lock (SQLite: the
``BEGIN IMMEDIATE`` write lock; PostgreSQL: a transaction-scoped advisory lock), then re-reads the
revision: concurrent openers queue, and all but the first find nothing left to do. Both backends
have transactional DDL, so a failed upgrade leaves the old schema as it was.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.store.connecting import Database
from roost.store.errors import SchemaTooNew

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

# Alembic is imported inside the functions that need it: it costs a large share of a CLI
# command's start-up, and most commands (validate, schema, status) never open the store.

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: "roost" in ASCII, so it is recognisable in pg_locks.
_PG_MIGRATION_LOCK = 0x726F6F7374


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    """The newest schema revision this roost knows."""
    head = _scripts().get_current_head()
    assert head is not None, "roost ships at least one migration"
    return head


def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The revision(s) stamped in the database; empty for a fresh database."""
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(conn).get_current_heads())


def migrate(db: Database) -> str:
    """Upgrade ``db`` to :func:`head_revision` and return it; raise :class:`SchemaTooNew` if the
    database carries a revision this roost does not know."""
    head = head_revision()
    with db.reading() as conn:
        current = current_revisions(conn)
    _refuse_unknown(db, current)
    if current == (head,):
        return head
    with db.writing() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        current = current_revisions(conn)
        _refuse_unknown(db, current)
        if current != (head,):
            from alembic import command
            from alembic.config import Config

            config = Config()
            # script_location is read through ConfigParser, which treats % as interpolation.
            config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    return head


def _refuse_unknown(db: Database, current: tuple[str, ...]) -> None:
    unknown = sorted(set(current) - known_revisions())
    if unknown:
        raise SchemaTooNew(
            f"the database at {db.redacted_url} was written by a newer roost "
            f"(schema revision {', '.join(unknown)}); this roost knows up to "
            f"{head_revision()} — upgrade roost"
        )
