"""The database: one declarative base for every table, engines and sessions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    DateTime,
    Engine,
    Insert,
    MetaData,
    String,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Mapped,
    Session,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from biometrics import DomainError

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT_S = 5
"""PostgreSQL: how long opening a connection may take before it fails."""

TRANSACTION_ATTEMPTS = 4
"""How many times work that collides with a concurrent transaction is run."""
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
"""PostgreSQL: serialization failure, deadlock detected."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names, the same on every database, so migrations can name them."""


class UTCDateTime(TypeDecorator[datetime]):
    """An aware time stored as UTC; read back aware, in UTC, on every database.

    SQLite keeps no offset: without this, 10:00+07:00 and 10:00Z were stored
    alike. PostgreSQL gets a ``timestamp without time zone`` holding UTC, so
    its session time zone changes nothing. A naive time is refused rather
    than guessed.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        """Convert to naive UTC for storage."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("times must carry a time zone offset")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        """Mark stored UTC as aware."""
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base class of every table of the identity mock and the gate service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def all_tables() -> MetaData:
    """The metadata of every table, with every module that declares one loaded."""
    import gate_service.models  # noqa: F401  (registers the tables)
    import identity_mock.models  # noqa: F401

    return Base.metadata


class ChangeCounter(Base):
    """Counts changes that alter who may be matched (enrolments, bookings).

    Every process caches galleries; it compares this counter (one small read)
    with the one its cache was built at, and rebuilds when another worker, or
    itself, changed something.
    """

    __tablename__ = "change_counters"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


GALLERY_SCOPE = "galleries"


def hold_row(session: Session, column: InstrumentedAttribute[Any], *where: Any) -> None:
    """Hold the matching rows until the transaction ends; others wait their turn.

    An UPDATE that sets `column` to itself: a row lock on PostgreSQL, the
    write lock on SQLite (which has no ``SELECT ... FOR UPDATE``).
    """
    session.execute(update(column.class_).where(*where).values({column: column}))


def note_change(session: Session, scope: str = GALLERY_SCOPE) -> None:
    """Record, in the caller's transaction, that galleries must be rebuilt.

    The counter row is locked until the caller commits. The first change of
    a scope creates its row; when two processes do so at once, one insert
    waits for the other and does nothing, and both counts are kept.
    """
    if _count_up(session, scope) == 0:
        session.execute(_insert_if_missing(session, scope))
        _count_up(session, scope)


def _count_up(session: Session, scope: str) -> int:
    """Add one to the scope's count; answers the rows changed (0 or 1)."""
    changed = session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.scope == scope)
        .values(count=ChangeCounter.count + 1)
    )
    return int(getattr(changed, "rowcount", 0))


def _insert_if_missing(session: Session, scope: str) -> Insert:
    """An INSERT of the scope's row at 0 that does nothing if it exists."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(ChangeCounter)
            .on_conflict_do_nothing(index_elements=[ChangeCounter.scope])
            .values(scope=scope, count=0)
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(ChangeCounter)
            .on_conflict_do_nothing(index_elements=[ChangeCounter.scope])
            .values(scope=scope, count=0)
        )
    raise NotImplementedError(f"gatesim runs on SQLite and PostgreSQL, not {dialect}")


def change_count(session: Session, scope: str = GALLERY_SCOPE) -> int:
    """The current change count of a scope (0 before any change)."""
    count = session.scalar(
        select(ChangeCounter.count).where(ChangeCounter.scope == scope)
    )
    return int(count or 0)


def make_engine(database_url: str) -> Engine:
    """An engine for the URL; SQLite gets foreign keys and a busy timeout.

    Statement parameters never appear in the engine's errors, so a failed
    insert cannot write a citizen's name or ID number into a log.
    """
    backend = make_url(database_url).get_backend_name()
    if backend != "sqlite":
        timeout = {"connect_timeout": CONNECT_TIMEOUT_S}
        return create_engine(
            database_url,
            pool_pre_ping=True,
            hide_parameters=True,  # no names or ID numbers in errors and logs
            connect_args=timeout if backend == "postgresql" else {},
        )

    engine = create_engine(
        database_url,
        connect_args={"check_same_thread": False, "timeout": 30},
        hide_parameters=True,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def safe_url(database_url: str) -> str:
    """The URL to show: its password, if any, masked."""
    return make_url(database_url).render_as_string(hide_password=True)


def create_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the latest migration (`gatesim.schema`)."""
    from gatesim.schema import upgrade_to_head

    upgrade_to_head(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A factory of sessions bound to the engine."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with sessions() as session, session.begin():
        yield session


class ConcurrentChange(DomainError):
    """The same record kept changing under the request; nothing was saved."""

    code = "concurrent_change"
    status_code = 409
    default_message = (
        "Another touchpoint changed this passenger's record at the same moment. "
        "Present again."
    )


class RecordConflict(DomainError):
    """A concurrent request created or changed the same record first."""

    code = "conflict"
    status_code = 409
    default_message = (
        "Another request created or changed the same record at the same moment. "
        "Read it, or try again."
    )


def run_in_transaction(
    sessions: sessionmaker[Session], work: Callable[[Session], T]
) -> T:
    """Run `work` in a transaction; run it again if a concurrent one collides.

    A collision is a unique constraint that a concurrent transaction filled
    first (two gates issuing the same seat), a deadlock or serialization
    failure, or SQLite's lock. The retry reads what the other one committed, so
    the answer is the one a sequential order gives. `work` must do nothing
    outside the database.
    """
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with transaction(sessions) as session:
                return work(session)
        except (IntegrityError, OperationalError) as error:
            if not _is_collision(error):
                raise
            logger.info("transaction collided (attempt %d); retrying", attempt)
    raise ConcurrentChange()


UNIQUE_VIOLATION_SQLSTATE = "23505"


def is_unique_violation(error: IntegrityError) -> bool:
    """Whether a unique constraint refused the row (another has it already)."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == UNIQUE_VIOLATION_SQLSTATE)
    return "UNIQUE constraint failed" in str(error.orig)


def _is_collision(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(
        error.orig, "pgcode", None
    )
    return sqlstate in RETRYABLE_SQLSTATES or "database is locked" in str(error.orig)


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
