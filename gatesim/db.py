"""The database: one declarative base for every table, engines and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Base class of every table of the identity mock and the gate service."""


def make_engine(database_url: str) -> Engine:
    """An engine for the URL; SQLite gets foreign keys and a busy timeout."""
    if not database_url.startswith("sqlite"):
        return create_engine(database_url, pool_pre_ping=True)

    engine = create_engine(
        database_url, connect_args={"check_same_thread": False, "timeout": 30}
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    import gate_service.models  # noqa: F401  (registers the tables)
    import identity_mock.models  # noqa: F401

    Base.metadata.create_all(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A factory of sessions bound to the engine."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with sessions() as session, session.begin():
        yield session


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
