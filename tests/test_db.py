"""The database layer on SQLite and PostgreSQL: change counters and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gate_service.models import Flight
from gatesim.db import (
    change_count,
    note_change,
    transaction,
)
from tests.concurrency import at_once

pytestmark = pytest.mark.both_databases

WORKERS = 6
SAIGON = timezone(timedelta(hours=7))


def test_first_changes_of_a_scope_made_at_once_are_all_counted(
    sessions: sessionmaker[Session],
) -> None:
    def change() -> None:
        with transaction(sessions) as session:
            note_change(session, "test")

    at_once([change] * WORKERS)

    with sessions() as session:
        assert change_count(session, "test") == WORKERS


def test_a_time_is_read_back_as_the_same_instant_in_utc(
    sessions: sessionmaker[Session],
) -> None:
    departure = datetime(2026, 12, 3, 9, 30, tzinfo=SAIGON)
    with transaction(sessions) as session:
        session.add(
            Flight(
                code="VN213",
                origin="SGN",
                destination="HAN",
                departure_at=departure,
                gate="12",
            )
        )

    with sessions() as session:
        stored = session.scalars(select(Flight.departure_at)).one()
        same_day = session.scalars(
            select(Flight.code).where(
                Flight.departure_at >= datetime(2026, 12, 3, tzinfo=SAIGON),
                Flight.departure_at < datetime(2026, 12, 4, tzinfo=SAIGON),
            )
        ).all()

    assert stored == departure
    assert stored.tzinfo is UTC
    assert same_day == ["VN213"]
