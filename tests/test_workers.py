"""Several server workers on one store, hammered at the same instant.

Each test starts ``uvicorn --workers 3`` as a separate process tree, as an
airport runs it, on SQLite and on PostgreSQL (see `database_url`), and sends
presentations from several gates at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from gatesim.settings import Settings
from tests.concurrency import at_once
from tests.conftest import served_by_uvicorn
from tests.journey import book, enrol, present, register, schedule_flight

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

Photo = Callable[[str], bytes]
WORKERS = 3
GATES = 6


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Three uvicorn workers serving the app on one store; their base URL."""
    with served_by_uvicorn(database_url, tmp_path, workers=WORKERS) as url:
        yield url


def test_one_passenger_at_many_gates_at_once_boards_exactly_once(
    workers: str, photo: Photo
) -> None:
    with httpx.Client(base_url=workers, timeout=120) as api:
        citizen_id = _enrolled_passenger(api, photo("people/p06/1.jpg"))
        reference = _booked(api, citizen_id)
    frame = photo("people/p06/2.jpg")

    check_ins = _all_at_once(workers, "check-in", frame, gates=4)
    security = _all_at_once(workers, "security", frame, gates=1)
    boardings = _all_at_once(workers, "boarding", frame, gates=GATES)

    assert _codes(check_ins) == Counter({"checked_in": 1, "already_checked_in": 3})
    assert _codes(security) == Counter({"security_cleared": 1})
    assert _codes(boardings) == Counter({"boarded": 1, "already_boarded": GATES - 1})
    with httpx.Client(base_url=workers, timeout=30) as api:
        booking = api.get(f"/gate/v1/bookings/{reference}").json()
        records = api.get("/gate/v1/decisions", params={"limit": 1000}).json()
    assert booking["seat"] is not None
    assert booking["boarded_at"] is not None
    recorded = Counter(record["touchpoint"] for record in records)
    assert recorded == Counter({"check-in": 4, "security": 1, "boarding": GATES})


def test_consent_withdrawn_at_one_worker_stops_matching_at_every_worker(
    workers: str, photo: Photo
) -> None:
    with httpx.Client(base_url=workers, timeout=120) as api:
        citizen_id = _enrolled_passenger(api, photo("people/p06/1.jpg"))
        _booked(api, citizen_id)
    frame = photo("people/p06/2.jpg")
    before = _all_at_once(workers, "check-in", frame, gates=GATES)

    with httpx.Client(base_url=workers, timeout=30) as api:
        withdrawn = api.post(
            f"/identity/v1/citizens/{citizen_id}/consent",
            json={"biometric_consent": False},
        )
    after = _all_at_once(workers, "check-in", frame, gates=GATES)

    assert withdrawn.status_code == 200, withdrawn.text
    assert sum(_codes(before).values()) == GATES
    assert set(_codes(before)) <= {"checked_in", "already_checked_in"}
    assert _codes(after) == Counter({"face_not_recognised": GATES})


def _all_at_once(
    base_url: str, touchpoint: str, frame: bytes, *, gates: int
) -> list[httpx.Response]:
    """Present the frame at `gates` devices of a touchpoint at the same instant."""

    def present_at(gate: int) -> httpx.Response:
        device_id = f"{touchpoint}-{gate:02d}"
        with httpx.Client(base_url=base_url, timeout=120) as api:
            return present(
                api, touchpoint, frame, device_id=device_id, flight_code="VN213"
            )

    answers = at_once([partial(present_at, gate) for gate in range(gates)])
    assert [answer.status_code for answer in answers] == [200] * gates, [
        answer.text for answer in answers if answer.status_code != 200
    ]
    return answers


def _codes(answers: list[httpx.Response]) -> Counter[str]:
    return Counter(answer.json()["reason_code"] for answer in answers)


def _enrolled_passenger(api: httpx.Client, image: bytes) -> int:
    citizen_id = register(api, "079090001234", full_name="Lê Văn Tám")
    enrolled = enrol(api, citizen_id, image)
    assert enrolled.status_code == 201, enrolled.text
    return citizen_id


def _booked(api: httpx.Client, citizen_id: int) -> str:
    return book(api, citizen_id, schedule_flight(api, Settings(), "VN213"))
