"""The schema's migrations: bring any database to the latest revision, safely.

Every process runs `upgrade_to_head` at start-up, and several server workers
may start at once against one database: each takes the migration lock first,
so one migrates and the others then find the schema up to date.

A database made by an earlier version, before migrations, has the tables but
no ``alembic_version``. If its tables and columns are those of the first
revision, it is stamped at that revision and upgraded from there; otherwise
start-up stops with `SchemaMismatch`, and nothing is changed. Its constraints
keep the names its database gave them, not `gatesim.db.NAMING_CONVENTION`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from gatesim.db import all_tables

logger = logging.getLogger(__name__)

MIGRATIONS = "gatesim:migrations"
"""Where the migration environment and its revisions live, inside the package."""
INITIAL_REVISION = "89e628df6c46"
"""The revision that creates the schema earlier versions made without migrations."""
VERSION_TABLE = "alembic_version"
MIGRATION_LOCK_KEY = 0x67617465_73696D00
"""PostgreSQL advisory lock held while migrating: "gatesim" in ASCII."""

Layout = dict[str, set[str]]
"""Table names and, for each, its column names."""


class SchemaMismatch(RuntimeError):
    """A database made before migrations does not have the first revision's tables."""


def upgrade_to_head(engine: Engine) -> None:
    """Create or upgrade the schema to the latest revision, one process at a time."""
    with engine.connect() as connection, holding_migration_lock(connection):
        config = alembic_config(connection)
        if _made_before_migrations(connection):
            _adopt(connection, config)
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (None: not migrated yet)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the package's migrations, on this connection."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


@contextmanager
def holding_migration_lock(connection: Connection) -> Iterator[None]:
    """A transaction that holds the migration lock; committed on success.

    PostgreSQL: an advisory lock, released at commit; its DDL is
    transactional, so a failed migration leaves nothing behind. SQLite:
    ``BEGIN IMMEDIATE`` takes the write lock at once, waiting out the busy
    timeout while another process holds it.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(:key)")
        connection.execute(lock, {"key": MIGRATION_LOCK_KEY})
    elif dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        raise NotImplementedError("migrations run on SQLite and PostgreSQL only")
    yield  # on an error, closing the connection rolls back
    connection.commit()


def _made_before_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return VERSION_TABLE not in tables and bool(tables & set(all_tables().tables))


def _adopt(connection: Connection, config: Config) -> None:
    """Stamp a database made before migrations, if it is the first revision's."""
    problems = _differences(_layout_at(INITIAL_REVISION), _layout(connection))
    if problems:
        raise SchemaMismatch(
            "The database was made by an earlier gatesim, before schema "
            f"migrations, and its tables differ from those gatesim made then "
            f"({'; '.join(problems)}). Nothing was changed. Move its data into "
            "a new database made by `gatesim migrate`, or start afresh."
        )
    command.stamp(config, INITIAL_REVISION)
    logger.info("database made before migrations: stamped at %s", INITIAL_REVISION)


def _layout_at(revision: str) -> Layout:
    """The tables and columns `revision` makes, read from a scratch database."""
    scratch = create_engine("sqlite://")
    with scratch.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
        layout = _layout(connection)
    scratch.dispose()
    return layout


def _layout(connection: Connection) -> Layout:
    inspector = inspect(connection)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != VERSION_TABLE
    }


def _differences(expected: Layout, found: Layout) -> list[str]:
    """What `found` lacks or has beyond `expected`; other tables are no concern."""
    problems = [f"no table {table}" for table in sorted(expected.keys() - found)]
    for table in sorted(expected.keys() & found.keys()):
        missing = sorted(expected[table] - found[table])
        extra = sorted(found[table] - expected[table])
        problems += [f"no column {table}.{column}" for column in missing]
        problems += [f"unknown column {table}.{column}" for column in extra]
    return problems
