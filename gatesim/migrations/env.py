"""Alembic's environment: how a migration run reaches its database.

`gatesim.schema` hands over a connection that already holds the migration
lock. Run by the ``alembic`` command of a developer, it connects to
``GATESIM_DATABASE_URL`` itself and takes the same lock.
"""

from __future__ import annotations

import logging

from alembic import context
from sqlalchemy import Connection

from gatesim.db import all_tables, make_engine
from gatesim.schema import holding_migration_lock
from gatesim.settings import get_settings


def run() -> None:
    """Migrate the given connection, a database of its own, or write SQL."""
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode():
        _write_sql()
    elif connection is None:
        _migrate_own_database()
    else:
        _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_tables(),
        render_as_batch=True,  # SQLite alters a table by copying it
    )
    with context.begin_transaction():
        context.run_migrations()


def _migrate_own_database() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    engine = make_engine(get_settings().database_url)
    with engine.connect() as connection, holding_migration_lock(connection):
        _migrate(connection)
    engine.dispose()


def _write_sql() -> None:
    context.configure(
        url=get_settings().database_url,
        target_metadata=all_tables(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
