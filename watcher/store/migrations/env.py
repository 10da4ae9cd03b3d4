"""Alembic environment: runs the revisions on the connection that ``Store.migrate()`` passes.

It never opens a connection of its own, so the lock the caller holds (an advisory lock on
PostgreSQL, the write lock on SQLite) covers the whole upgrade, and the SQLite pragmas of
the caller's engine apply. ``render_as_batch`` lets later revisions ALTER tables on SQLite.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import watcher.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _run_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    # The caller has begun the transaction, so alembic joins it rather than committing.
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "watcher migrations run through Store.migrate() or migration_config(connection)"
        )
    _run_online(connection)
