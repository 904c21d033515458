"""The HTTP API end to end, on real photos: enrol, check in, security, board."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gatesim.settings import Settings
from tests.journey import book, enrol, present, register, schedule_flight

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]


@pytest.fixture
def airport(client: TestClient, settings: Settings, photo: Photo) -> dict[str, Any]:
    """Two flights today; p06 and p09 enrolled and booked, p03 with bags."""
    flights = {
        "VN213": schedule_flight(client, settings, "VN213", "12"),
        "VJ135": schedule_flight(client, settings, "VJ135", "14"),
    }
    people = {}
    cast = [("p06", "VN213", False), ("p09", "VJ135", False), ("p03", "VN213", True)]
    for number, (person, code, bags) in enumerate(cast):
        citizen_id = register(client, f"07909000000{number}")
        enrolled = enrol(client, citizen_id, photo(f"people/{person}/1.jpg"))
        assert enrolled.status_code == 201, enrolled.text
        book(client, citizen_id, flights[code], bags=bags)
        people[person] = citizen_id
    return {"flights": flights, "people": people}


@pytest.mark.both_databases
def test_enrolled_passenger_checks_in_clears_security_and_boards_once(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    face = photo("people/p06/2.jpg")

    checked_in = present(client, "check-in", face).json()
    again = present(client, "check-in", face).json()
    security = present(client, "security", face).json()
    boarded = present(client, "boarding", face, flight_code="VN213").json()
    twice = present(client, "boarding", face, flight_code="VN213").json()

    assert checked_in["decision"] == "open"
    assert checked_in["passenger_id"] == airport["people"]["p06"]
    assert checked_in["seat"]
    assert checked_in["distance"] < checked_in["threshold"]
    assert again["reason_code"] == "already_checked_in"
    assert again["seat"] == checked_in["seat"]
    assert security["decision"] == "open"
    assert boarded["decision"] == "open"
    assert boarded["reason_code"] == "boarded"
    assert twice["decision"] == "deny"
    assert twice["reason_code"] == "already_boarded"


@pytest.mark.both_databases
def test_passenger_at_another_flights_gate_is_denied_and_told_their_gate(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    face = photo("people/p06/2.jpg")
    present(client, "check-in", face)
    present(client, "security", face)

    answer = present(client, "boarding", face, flight_code="VJ135").json()

    assert answer["decision"] == "deny"
    assert answer["reason_code"] == "wrong_flight"
    assert "VN213" in answer["reason"]
    assert "gate 12" in answer["reason"]


def test_security_denies_a_passenger_not_checked_in(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    answer = present(client, "security", photo("people/p09/3.jpg")).json()

    assert answer["decision"] == "deny"
    assert answer["reason_code"] == "not_checked_in"


def test_boarding_denies_a_passenger_who_skipped_security(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    face = photo("people/p09/3.jpg")
    present(client, "check-in", face)

    answer = present(client, "boarding", face, flight_code="VJ135").json()

    assert answer["decision"] == "deny"
    assert answer["reason_code"] == "security_not_cleared"


@pytest.mark.both_databases
def test_checked_baggage_is_referred_to_the_counter_then_staff_clear_it(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    face = photo("people/p03/3.jpg")

    referred = present(client, "check-in", face).json()
    cleared = client.post(
        "/gate/v1/check-in/staff-clear",
        json={
            "booking_reference": referred["booking_reference"],
            "device_id": "counter-3",
        },
    ).json()

    assert referred["decision"] == "refer"
    assert referred["reason_code"] == "checked_baggage"
    assert cleared["decision"] == "open"
    assert cleared["reason_code"] == "manual_check"
    assert cleared["seat"]


def test_unenrolled_face_is_referred_never_accepted(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    for touchpoint in ("check-in", "security"):
        answer = present(client, touchpoint, photo("people/p26/1.jpg")).json()

        assert answer["decision"] == "refer"
        assert answer["reason_code"] == "face_not_recognised"
        assert answer["passenger_id"] is None


def test_level_one_account_is_not_matched_at_the_airport(
    client: TestClient, settings: Settings, photo: Photo
) -> None:
    flight_id = schedule_flight(client, settings, "VN213", "12")
    citizen_id = register(client, "079090000009", account_level=1)
    enrol(client, citizen_id, photo("people/p17/1.png"))
    book(client, citizen_id, flight_id)

    answer = present(client, "check-in", photo("people/p17/2.png")).json()

    assert answer["decision"] == "refer"


@pytest.mark.both_databases
def test_claim_by_booking_reference_is_checked_one_to_one(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    reference = present(client, "check-in", photo("people/p06/2.jpg")).json()[
        "booking_reference"
    ]

    own = present(
        client, "security", photo("people/p06/2.jpg"), booking_reference=reference
    ).json()
    other = present(
        client, "security", photo("people/p09/3.jpg"), booking_reference=reference
    ).json()

    assert own["decision"] == "open"
    assert other["decision"] == "refer"


@pytest.mark.parametrize(
    ("image_path", "status", "code"),
    [
        ("scenes/no_face_white.png", 422, "no_face"),
        ("scenes/two_people.jpg", 422, "several_faces"),
    ],
)
def test_gate_answers_a_bad_face_image_with_its_own_code(
    client: TestClient,
    airport: dict[str, Any],
    photo: Photo,
    image_path: str,
    status: int,
    code: str,
) -> None:
    response = present(client, "check-in", photo(image_path))

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"", 400, "image_empty"),
        (b"this is a text file, not a photo", 400, "image_unreadable"),
        (b"%PDF-1.7\n1 0 obj\n", 400, "image_unreadable"),
    ],
)
def test_gate_answers_a_non_image_with_its_own_code(
    client: TestClient, payload: bytes, status: int, code: str
) -> None:
    response = present(client, "security", payload)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_missing_image_field_is_a_validation_error(client: TestClient) -> None:
    response = client.post("/gate/v1/check-in", data={"device_id": "k1"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_unknown_flight_at_boarding_is_not_found(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    face = photo("people/p06/2.jpg")

    response = present(client, "boarding", face, flight_code="ZZ999")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "flight_not_found"


def test_refused_enrolment_leaves_no_template(client: TestClient, photo: Photo) -> None:
    citizen_id = register(client, "079090000042")

    refused = enrol(client, citizen_id, photo("scenes/two_people.jpg"))
    citizen = client.get(f"/identity/v1/citizens/{citizen_id}").json()

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "several_faces"
    assert citizen["template_count"] == 0


@pytest.mark.both_databases
def test_identity_mock_verifies_and_identifies(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    people = airport["people"]
    files = {"image": ("f.jpg", photo("people/p09/3.jpg"), "image/jpeg")}

    verified = client.post(
        f"/identity/v1/citizens/{people['p09']}/verify", files=files
    ).json()
    identified = client.post(
        "/identity/v1/identify",
        files=files,
        data={"citizen_ids": ",".join(str(i) for i in people.values())},
    ).json()

    assert verified["outcome"] == "match"
    assert identified["outcome"] == "match"
    assert identified["citizen_id"] == people["p09"]


@pytest.mark.both_databases
def test_every_decision_is_recorded_without_image(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    present(client, "check-in", photo("people/p06/2.jpg"))
    present(client, "check-in", photo("scenes/no_face_white.png"))

    records = client.get("/gate/v1/decisions").json()

    assert [r["reason_code"] for r in records] == ["no_face", "checked_in"]
    assert all(set(r) >= {"distance", "threshold", "latency_ms"} for r in records)


def test_body_over_the_limit_is_refused_before_reading(
    client: TestClient,
) -> None:
    oversized = b"\xff" * (26 * 1024 * 1024)

    response = present(client, "check-in", oversized)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"


def test_openapi_schema_lists_the_touchpoint_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert "/gate/v1/{touchpoint}" in schema["paths"]
    assert "/identity/v1/citizens/{citizen_id}/faces" in schema["paths"]


@pytest.mark.both_databases
def test_booking_the_same_flight_twice_is_a_conflict(
    client: TestClient, settings: Settings
) -> None:
    flight_id = schedule_flight(client, settings, "VN213", "12")
    citizen_id = register(client, "079090000010")
    book(client, citizen_id, flight_id)

    again = client.post(
        "/gate/v1/bookings", json={"citizen_id": citizen_id, "flight_id": flight_id}
    )
    unknown = client.post(
        "/gate/v1/bookings", json={"citizen_id": citizen_id, "flight_id": 999}
    )

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "booking_exists"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "flight_not_found"


@pytest.mark.both_databases
def test_same_flight_code_twice_on_one_local_day_is_a_conflict(
    client: TestClient, settings: Settings
) -> None:
    schedule_flight(client, settings, "VN213", "12")

    response = client.post(
        "/gate/v1/flights",
        json={
            "code": "VN213",
            "origin": settings.airport_code,
            "destination": "DAD",
            "departure_at": datetime.now(settings.zone).isoformat(),
            "gate": "3",
        },
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "flight_exists"


@pytest.mark.both_databases
def test_departure_time_keeps_its_offset_and_a_naive_time_is_refused(
    client: TestClient, settings: Settings
) -> None:
    departure_utc = datetime.now(settings.zone).astimezone(UTC)
    body = {
        "code": "VJ135",
        "origin": settings.airport_code,
        "destination": "HAN",
        "gate": "14",
    }

    created = client.post(
        "/gate/v1/flights",
        json={**body, "departure_at": departure_utc.isoformat()},
    )
    naive = client.post(
        "/gate/v1/flights",
        json={**body, "code": "VJ136", "departure_at": "2026-12-03T09:00:00"},
    )
    stored = datetime.fromisoformat(created.json()["departure_at"])

    assert created.status_code == 201
    assert stored == departure_utc
    assert naive.status_code == 422


@pytest.mark.both_databases
def test_flight_given_in_utc_is_boarded_on_the_airports_local_day(
    client: TestClient, settings: Settings, photo: Photo
) -> None:
    departure_utc = datetime.now(settings.zone).astimezone(UTC)
    response = client.post(
        "/gate/v1/flights",
        json={
            "code": "VN999",
            "origin": settings.airport_code,
            "destination": "HAN",
            "departure_at": departure_utc.isoformat(),
            "gate": "9",
        },
    )
    citizen_id = register(client, "079090000011")
    enrol(client, citizen_id, photo("people/p06/1.jpg"))
    book(client, citizen_id, int(response.json()["id"]))

    answer = present(client, "check-in", photo("people/p06/2.jpg")).json()

    assert answer["decision"] == "open"
    assert answer["flight_code"] == "VN999"


def test_boarding_without_flight_code_is_refused_before_any_face_work(
    client: TestClient, photo: Photo
) -> None:
    response = present(client, "boarding", photo("people/p06/2.jpg"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "flight_code_required"


@pytest.mark.both_databases
def test_gallery_sees_an_enrolment_made_after_earlier_decisions(
    client: TestClient, settings: Settings, photo: Photo
) -> None:
    flight_id = schedule_flight(client, settings, "VN213", "12")
    citizen_id = register(client, "079090000012")
    book(client, citizen_id, flight_id)
    face = photo("people/p06/2.jpg")

    before = present(client, "check-in", face).json()
    enrol(client, citizen_id, photo("people/p06/1.jpg"))
    after = present(client, "check-in", face).json()

    assert before["decision"] == "refer"
    assert after["decision"] == "open"
    assert after["passenger_id"] == citizen_id


def test_staff_clear_that_is_refused_keeps_its_own_reason(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    reference = present(client, "check-in", photo("people/p06/2.jpg")).json()[
        "booking_reference"
    ]

    answer = client.post(
        "/gate/v1/boarding/staff-clear",
        json={"booking_reference": reference, "device_id": "gate-12"},
    ).json()

    assert answer["decision"] == "deny"
    assert answer["reason_code"] == "security_not_cleared"


def test_metrics_count_decisions_and_errors(
    client: TestClient, airport: dict[str, Any], photo: Photo
) -> None:
    present(client, "check-in", photo("people/p06/2.jpg"))
    present(client, "check-in", b"")

    metrics = client.get("/metrics").text

    assert 'gatesim_decisions_total{decision="open",touchpoint="check-in"}' in metrics
    assert 'gatesim_errors_total{code="image_empty"}' in metrics
    assert 'gatesim_stage_seconds_count{stage="encode"}' in metrics
    assert "gatesim_gallery_templates" in metrics


@pytest.mark.both_databases
def test_a_booking_is_committed_before_its_answer_arrives(
    live_server: str, settings: Settings
) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as api:
        flight_id = schedule_flight(api, settings, "VN213", "12")

        for number in range(20):
            citizen_id = register(api, f"0790911000{number:02d}")
            reference = book(api, citizen_id, flight_id)
            cleared = api.post(
                "/gate/v1/check-in/staff-clear",
                json={"booking_reference": reference, "device_id": "counter-1"},
            )

            assert cleared.status_code == 200, cleared.text


@pytest.mark.both_databases
def test_an_overlong_flight_code_is_refused_before_it_is_recorded(
    client: TestClient,
) -> None:
    response = present(client, "boarding", b"not an image", flight_code="VN21300000")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
