"""Touchpoints presented at once: each passenger checks in and boards once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial

import pytest
from sqlalchemy.orm import Session

from biometrics import FaceEncoder, decode_image
from biometrics.encoder import Encoding
from gate_service.bookings import NewFlight, book, schedule_flight
from gate_service.touchpoints import GateAnswer, GateRequest, Touchpoint, decide
from gatesim.db import transaction
from gatesim.runtime import Runtime, build_runtime
from gatesim.settings import Settings
from identity_mock.service import NewCitizen, enrol_face, register_citizen
from tests.concurrency import at_once

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

Photo = Callable[[str], bytes]
CAMERAS = 4
"""Presentations made at the same moment."""
PROBE_PHOTOS = {
    "p06": "people/p06/2.jpg",
    "p09": "people/p09/3.jpg",
    "p03": "people/p03/3.jpg",
}
"""Each passenger's photo at the camera; each enrols their ``1.jpg``."""


@pytest.fixture
def runtime(settings: Settings, encoder: FaceEncoder) -> Iterator[Runtime]:
    """Database, rules and encoder, as a server process has them."""
    runtime = build_runtime(settings, encoder)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def probes(runtime: Runtime, photo: Photo, encoder: FaceEncoder) -> dict[str, Encoding]:
    """Each passenger enrolled and booked on VN213 today; their probe encodings."""
    departure = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        flight = schedule_flight(
            session,
            NewFlight("VN213", runtime.settings.airport_code, "HAN", departure, "12"),
            zone=runtime.settings.zone,
        )
        for number, person in enumerate(PROBE_PHOTOS):
            _enrol_and_book(runtime, session, photo, person, number, flight.id)
    return {
        person: encoder.encode_one(decode_image(photo(path))).encoding
        for person, path in PROBE_PHOTOS.items()
    }


def _enrol_and_book(
    runtime: Runtime,
    session: Session,
    photo: Photo,
    person: str,
    number: int,
    flight_id: int,
) -> None:
    citizen = register_citizen(
        session,
        NewCitizen(f"07909000100{number}", "Hồ Thị Lan", date(1991, 3, 4)),
    )
    enrol_face(
        session,
        citizen.id,
        photo(f"people/{person}/1.jpg"),
        encoder=runtime.encoder,
        limits=runtime.gate.limits,
        policy=runtime.quality,
        duplicate_threshold=runtime.gate.rule.match_threshold,
        cipher=runtime.cipher,
    )
    book(session, citizen_id=citizen.id, flight_id=flight_id, checked_baggage=False)


def _at_once(
    runtime: Runtime, touchpoint: Touchpoint, probes: list[Encoding]
) -> list[GateAnswer]:
    """Present every probe at the same moment, one camera each."""
    request = GateRequest(touchpoint, f"{touchpoint}-07", b"", "VN213")
    return at_once([partial(decide, runtime.gate, request, p) for p in probes])


def test_passengers_checking_in_at_once_each_get_their_own_seat(
    runtime: Runtime, probes: dict[str, Encoding]
) -> None:
    answers = _at_once(runtime, Touchpoint.CHECK_IN, list(probes.values()))

    assert [answer.decision for answer in answers] == ["open"] * len(probes)
    assert len({answer.seat for answer in answers}) == len(probes)


def test_one_passenger_at_several_kiosks_at_once_gets_one_boarding_pass(
    runtime: Runtime, probes: dict[str, Encoding]
) -> None:
    answers = _at_once(runtime, Touchpoint.CHECK_IN, [probes["p06"]] * CAMERAS)

    codes = sorted(answer.reason_code for answer in answers)
    assert codes == ["already_checked_in"] * (CAMERAS - 1) + ["checked_in"]
    assert len({answer.seat for answer in answers}) == 1


def test_one_passenger_at_several_boarding_gates_at_once_boards_once(
    runtime: Runtime, probes: dict[str, Encoding]
) -> None:
    _at_once(runtime, Touchpoint.CHECK_IN, [probes["p06"]])
    _at_once(runtime, Touchpoint.SECURITY, [probes["p06"]])

    answers = _at_once(runtime, Touchpoint.BOARDING, [probes["p06"]] * CAMERAS)

    codes = sorted(answer.reason_code for answer in answers)
    assert codes == ["already_boarded"] * (CAMERAS - 1) + ["boarded"]
