"""Schema migrations on SQLite and PostgreSQL: fresh, earlier, concurrent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import partial

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text

from gatesim import cli
from gatesim.db import all_tables, create_schema, make_engine, session_factory
from gatesim.schema import (
    VERSION_TABLE,
    SchemaMismatch,
    alembic_config,
    current_revision,
)
from gatesim.settings import get_settings
from identity_mock.models import Citizen
from tests.concurrency import at_once

pytestmark = pytest.mark.both_databases

WORKERS = 4


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the fresh database, disposed afterwards."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _made_by_create_all(engine: Engine) -> None:
    """The tables as earlier versions made them, with one citizen."""
    all_tables().create_all(engine)
    with session_factory(engine).begin() as session:
        session.add(
            Citizen(
                national_id="079090001111",
                full_name="Phạm Văn Đức",
                date_of_birth=date(1980, 5, 6),
                account_level=2,
                created_at=datetime.now(UTC),
            )
        )


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    create_schema(engine)

    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), all_tables()
        )

    assert differences == []
    assert current_revision(engine) == _head()


def test_a_database_made_before_migrations_is_stamped_and_keeps_its_rows(
    engine: Engine,
) -> None:
    _made_by_create_all(engine)

    create_schema(engine)

    with session_factory(engine)() as session:
        citizens = session.scalar(select(func.count()).select_from(Citizen))
    assert current_revision(engine) == _head()
    assert citizens == 1


def test_a_database_made_before_migrations_that_differs_is_left_alone(
    engine: Engine,
) -> None:
    _made_by_create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE devices"))

    with pytest.raises(SchemaMismatch, match="no table devices"):
        create_schema(engine)

    assert VERSION_TABLE not in inspect(engine).get_table_names()


def test_several_workers_starting_at_once_all_find_the_schema_ready(
    database_url: str,
) -> None:
    engines = [make_engine(database_url) for _ in range(WORKERS)]
    at_once([partial(create_schema, engine) for engine in engines])

    assert {current_revision(engine) for engine in engines} == {_head()}
    for engine in engines:
        engine.dispose()


def test_migrate_command_brings_the_database_to_the_latest_revision(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GATESIM_DATABASE_URL", database_url)
    get_settings.cache_clear()

    exit_code = cli.main(["migrate"])
    again = cli.main(["migrate"])
    get_settings.cache_clear()

    assert (exit_code, again) == (0, 0)
    assert f"revision {_head()}" in capsys.readouterr().out
