"""Alembic environment for roost's store, used only programmatically.

roost.store.migrating opens a transaction (holding the database's write lock), passes its
connection in ``config.attributes["connection"]`` and calls ``alembic.command.upgrade``. Because
the connection is already in a transaction, Alembic runs every migration inside it and does not
commit: the caller commits once, so a crash mid-upgrade leaves the old schema intact.
"""

from __future__ import annotations

from alembic import context

from roost.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "roost's migrations run from roost.store.migrating with a connection; "
        "they are not meant to be run from the alembic command line"
    )
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
