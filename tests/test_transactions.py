"""Transactions that collide with concurrent ones are run again, then refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gatesim.db import (
    TRANSACTION_ATTEMPTS,
    ChangeCounter,
    ConcurrentChange,
    create_schema,
    is_unique_violation,
    make_engine,
    run_in_transaction,
)
from gatesim.settings import Settings
from tests.concurrency import at_once

CLIENTS = 8


def _collision() -> IntegrityError:
    return IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))


def test_collided_work_is_run_again_and_only_its_last_run_is_kept(
    sessions: sessionmaker[Session],
) -> None:
    runs: list[int] = []

    def work(session: Session) -> int:
        runs.append(len(runs))
        session.add(ChangeCounter(scope=f"run-{len(runs)}", count=1))
        session.flush()
        if len(runs) < 3:
            raise _collision()
        return len(runs)

    result = run_in_transaction(sessions, work)

    with sessions() as session:
        kept = session.scalars(select(ChangeCounter.scope)).all()
    assert result == 3
    assert kept == ["run-3"]


def test_work_that_keeps_colliding_is_refused_as_a_conflict(
    sessions: sessionmaker[Session],
) -> None:
    runs: list[int] = []

    def work(_session: Session) -> None:
        runs.append(1)
        raise _collision()

    with pytest.raises(ConcurrentChange) as refused:
        run_in_transaction(sessions, work)

    assert len(runs) == TRANSACTION_ATTEMPTS
    assert refused.value.status_code == 409


def test_other_database_errors_are_not_retried(sessions: sessionmaker[Session]) -> None:
    runs: list[int] = []

    def work(_session: Session) -> None:
        runs.append(1)
        raise OperationalError("SELECT", {}, Exception("no such table: x"))

    with pytest.raises(OperationalError):
        run_in_transaction(sessions, work)

    assert len(runs) == 1


@pytest.mark.slow
@pytest.mark.both_databases
def test_registering_one_citizen_from_many_clients_at_once_makes_one(
    live_server: str,
) -> None:
    citizen = {
        "national_id": "079090007777",
        "full_name": "Phạm Thị Hoa",
        "date_of_birth": "1992-06-01",
    }

    def register() -> int:
        with httpx.Client(base_url=live_server, timeout=60) as api:
            return api.post("/identity/v1/citizens", json=citizen).status_code

    statuses = at_once([register] * CLIENTS)

    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)


@pytest.mark.slow
@pytest.mark.both_databases
def test_one_flight_code_scheduled_at_once_for_one_day_makes_one_flight(
    live_server: str, settings: Settings
) -> None:
    noon = datetime.now(settings.zone).replace(hour=12, minute=0, second=0)

    def schedule(minutes: int) -> int:
        body = {
            "code": "VN555",
            "origin": settings.airport_code,
            "destination": "HAN",
            "departure_at": (noon + timedelta(minutes=minutes)).isoformat(),
            "gate": "3",
        }
        with httpx.Client(base_url=live_server, timeout=60) as api:
            return api.post("/gate/v1/flights", json=body).status_code

    statuses = at_once([partial(schedule, 6 * n) for n in range(CLIENTS)])

    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)


@pytest.mark.both_databases
def test_only_a_unique_constraint_counts_as_a_concurrent_duplicate(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    twice = "INSERT INTO change_counters (scope, count) VALUES ('twice', 1)"
    no_count = "INSERT INTO change_counters (scope, count) VALUES ('x', NULL)"
    caught: list[IntegrityError] = []
    for statements in ([twice, twice], [no_count]):
        with engine.connect() as connection:
            try:
                for statement in statements:
                    connection.execute(text(statement))
            except IntegrityError as error:
                caught.append(error)
    engine.dispose()

    assert [is_unique_violation(error) for error in caught] == [True, False]
