"""Input the database would refuse is answered 422 at the HTTP edge, never 500."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from gatesim.inputs import ID_MAX, refuse_control_characters
from gatesim.settings import Settings
from identity_mock.schemas import MAX_CANDIDATES, parse_citizen_ids
from tests.journey import book, register, schedule_flight

pytestmark = pytest.mark.slow

IMAGE = {"image": ("frame.jpg", b"not looked at", "image/jpeg")}
"""Every field is checked before the image is read."""

CITIZEN = {
    "national_id": "079090000001",
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1990-04-30",
}
FLIGHT = {
    "code": "VN213",
    "origin": "SGN",
    "destination": "HAN",
    "departure_at": "2030-06-01T09:00:00+07:00",
    "gate": "12",
}
DEVICE = {"device_id": "gate-12", "kind": "gate", "touchpoints": ["boarding"]}
STAFF_CLEAR = {"booking_reference": "K7Q2XM", "device_id": "counter-3"}


def send(client: TestClient, request: tuple[str, str, dict[str, Any]]) -> Any:
    """Send one request and assert it is refused as an invalid request."""
    method, url, options = request
    response = client.request(method, url, **options)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return error


def gate_form(touchpoint: str, **fields: str) -> tuple[str, str, dict[str, Any]]:
    """A presentation at a touchpoint with these form fields."""
    data = {"device_id": "gate-12", "flight_code": "VN213", **fields}
    return "POST", f"/gate/v1/{touchpoint}", {"files": IMAGE, "data": data}


def text_fields(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every text a client sends, each in turn set to `text`."""
    return [
        ("POST", "/identity/v1/citizens", {"json": {**CITIZEN, "full_name": text}}),
        ("POST", "/identity/v1/citizens", {"json": {**CITIZEN, "national_id": text}}),
        ("POST", "/gate/v1/flights", {"json": {**FLIGHT, "gate": text}}),
        ("POST", "/gate/v1/flights", {"json": {**FLIGHT, "code": text}}),
        ("GET", f"/gate/v1/bookings/{quote(text)}", {}),
        gate_form("check-in", device_id=text),
        gate_form("boarding", flight_code=text),
        gate_form("check-in", booking_reference=text),
        gate_form("check-in", national_id=text),
        (
            "POST",
            "/gate/v1/check-in/staff-clear",
            {"json": {**STAFF_CLEAR, "booking_reference": text}},
        ),
        (
            "POST",
            "/gate/v1/check-in/staff-clear",
            {"json": {**STAFF_CLEAR, "device_id": text}},
        ),
        ("POST", "/admin/v1/devices", {"json": {**DEVICE, "device_id": text}}),
        ("POST", f"/admin/v1/devices/{quote(text)}/revoke", {}),
        ("POST", "/kiosk/v1/check-in", {"files": IMAGE, "data": {"device_id": text}}),
    ]


def label(request: tuple[str, str, dict[str, Any]]) -> str:
    """A short test id: the route and the field that carries the bad value."""
    method, url, options = request
    body = options.get("json") or options.get("data") or {}
    changed = [
        key
        for key, value in body.items()
        if value not in (CITIZEN | FLIGHT | DEVICE | STAFF_CLEAR).values()
    ]
    path = url.split("%00")[0][:40]
    return f"{method} {path} {','.join(changed)}"


WITH_NUL = text_fields("AB\x00CDE")


@pytest.mark.both_databases
@pytest.mark.parametrize("request_", WITH_NUL, ids=[label(r) for r in WITH_NUL])
def test_nul_in_any_text_field_is_an_invalid_request(
    client: TestClient, request_: tuple[str, str, dict[str, Any]]
) -> None:
    send(client, request_)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("A\x00B", "U+0000"),
        ("A\tB", "U+0009"),
        ("A\nB", "U+000A"),
        ("A\x1bB", "U+001B"),
        ("A\x7fB", "U+007F"),
        ("A\ud800B", "U+D800"),
    ],
)
def test_control_characters_are_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        refuse_control_characters(text)


@pytest.mark.parametrize("text", ["Nguyễn Văn An", "Cổng-😀", "O'Brien-Smith 2"])
def test_printable_text_of_any_script_is_kept(text: str) -> None:
    assert refuse_control_characters(text) == text


OUT_OF_RANGE_IDS = [0, ID_MAX + 1, 10**23]
CONSENT: dict[str, Any] = {"json": {"biometric_consent": False}}
ID_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/identity/v1/citizens/{id}", {}),
    ("GET", "/identity/v1/citizens/{id}/faces", {}),
    ("DELETE", "/identity/v1/citizens/{id}/faces", {}),
    ("POST", "/identity/v1/citizens/{id}/consent", CONSENT),
    ("POST", "/identity/v1/citizens/{id}/faces", {"files": IMAGE}),
    ("POST", "/identity/v1/citizens/{id}/verify", {"files": IMAGE}),
]


@pytest.mark.both_databases
@pytest.mark.parametrize("citizen_id", OUT_OF_RANGE_IDS)
@pytest.mark.parametrize(("method", "route", "options"), ID_ROUTES)
def test_citizen_id_out_of_range_in_a_path_is_an_invalid_request(
    client: TestClient,
    method: str,
    route: str,
    options: dict[str, Any],
    citizen_id: int,
) -> None:
    error = send(client, (method, route.format(id=citizen_id), options))

    assert "citizen_id" in error["message"]


@pytest.mark.both_databases
@pytest.mark.parametrize("bad_id", OUT_OF_RANGE_IDS)
@pytest.mark.parametrize("field", ["citizen_id", "flight_id"])
def test_booking_with_an_id_out_of_range_is_an_invalid_request(
    client: TestClient, field: str, bad_id: int
) -> None:
    body = {"citizen_id": 1, "flight_id": 1, field: bad_id}

    error = send(client, ("POST", "/gate/v1/bookings", {"json": body}))

    assert field in error["message"]


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "citizen_ids",
    [
        "١",  # ARABIC-INDIC DIGIT ONE
        "²",  # "²".isdigit() is true, int("²") fails
        "1,²",
        "0",
        str(ID_MAX + 1),
        "99999999999999999999999,1",
        "1,,2",
        "1;2",
        "1.5",
        " ",
        ",".join(str(number) for number in range(1, MAX_CANDIDATES + 2)),
    ],
)
def test_identify_refuses_a_malformed_citizen_id_list(
    client: TestClient, citizen_ids: str
) -> None:
    options = {"files": IMAGE, "data": {"citizen_ids": citizen_ids}}

    error = send(client, ("POST", "/identity/v1/identify", options))

    assert "citizen_ids" in error["message"]


def test_citizen_id_list_is_read_in_ascii_digits_with_spaces_around() -> None:
    assert parse_citizen_ids(" 12, 40 ,7") == [12, 40, 7]
    assert parse_citizen_ids(str(ID_MAX)) == [ID_MAX]


def test_citizen_id_list_over_the_cap_says_the_cap() -> None:
    too_many = ",".join(["1"] * (MAX_CANDIDATES + 1))

    with pytest.raises(ValueError, match=f"at most {MAX_CANDIDATES}"):
        parse_citizen_ids(too_many)


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "departure_at",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "1999-12-31T23:00:00+07:00",
        "2101-01-01T00:00:00+07:00",
        "2030-06-01T09:00:00+23:59",
        "2030-06-01T09:00:00-13:00",
        "2030-06-01T09:00:00",
        "1900000000",
        99999999999999,
        1900000000,
        None,
    ],
)
def test_implausible_departure_time_is_an_invalid_request(
    client: TestClient, departure_at: Any
) -> None:
    body = {**FLIGHT, "departure_at": departure_at}

    error = send(client, ("POST", "/gate/v1/flights", {"json": body}))

    assert "departure_at" in error["message"]


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "departure_at", ["2000-01-01T00:00:00+14:00", "2100-12-31T23:59:59-12:00"]
)
def test_departure_at_the_ends_of_the_window_is_scheduled(
    client: TestClient, departure_at: str
) -> None:
    response = client.post(
        "/gate/v1/flights", json={**FLIGHT, "departure_at": departure_at}
    )

    assert response.status_code == 201, response.text


@pytest.mark.both_databases
def test_flight_to_its_own_origin_is_an_invalid_request(client: TestClient) -> None:
    body = {**FLIGHT, "destination": FLIGHT["origin"]}

    error = send(client, ("POST", "/gate/v1/flights", {"json": body}))

    assert "destination" in error["message"]


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "born",
    ["0001-01-01", "1899-12-31", "9999-12-31", "today", "tomorrow"],
)
def test_date_of_birth_not_in_the_past_or_before_1900_is_refused(
    client: TestClient, born: str
) -> None:
    days = {"today": 0, "tomorrow": 1}
    if born in days:
        born = (date.today() + timedelta(days=days[born])).isoformat()
    body = {**CITIZEN, "date_of_birth": born}

    error = send(client, ("POST", "/identity/v1/citizens", {"json": body}))

    assert "date_of_birth" in error["message"]


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "national_id",
    [
        "٠٧٩٠٩٠٠٠٠٠٠١",  # Arabic-Indic digits
        "۰۷۹۰۹۰۰۰۰۰۰۱",  # Extended Arabic-Indic digits
        "０７９０９００００００１",  # fullwidth digits
        "07909000000١",
        "07909000001",
        "0790900000012",
    ],
)
def test_national_id_of_anything_but_twelve_ascii_digits_is_refused(
    client: TestClient, national_id: str
) -> None:
    body = {**CITIZEN, "national_id": national_id}

    registered = send(client, ("POST", "/identity/v1/citizens", {"json": body}))
    claimed = send(client, gate_form("check-in", national_id=national_id))

    assert "national_id" in registered["message"]
    assert "national_id" in claimed["message"]


TOO_LONG = [
    ("POST", "/identity/v1/citizens", {"json": {**CITIZEN, "full_name": "A" * 201}}),
    ("POST", "/gate/v1/flights", {"json": {**FLIGHT, "gate": "123456789"}}),
    ("GET", "/gate/v1/bookings/" + "A" * 5000, {}),
    gate_form("check-in", device_id="x" * 65),
    gate_form("boarding", flight_code="VN21300000"),
    gate_form("check-in", booking_reference="A" * 10_000),
    gate_form("check-in", national_id="1" * 10_000),
    ("POST", "/gate/v1/check-in/staff-clear", {"json": {**STAFF_CLEAR, "device_id": "x" * 65}}),  # noqa: E501
    ("POST", "/admin/v1/devices", {"json": {**DEVICE, "device_id": "d" * 300}}),
    ("POST", "/admin/v1/devices/" + "x" * 5000 + "/revoke", {}),
    ("POST", "/kiosk/v1/check-in", {"files": IMAGE, "data": {"device_id": "k" * 500}}),
]  # fmt: skip


@pytest.mark.both_databases
@pytest.mark.parametrize("request_", TOO_LONG, ids=[label(r) for r in TOO_LONG])
def test_over_long_text_is_an_invalid_request(
    client: TestClient, request_: tuple[str, str, dict[str, Any]]
) -> None:
    send(client, request_)


@pytest.mark.both_databases
def test_text_at_its_length_limit_in_four_byte_characters_is_stored(
    client: TestClient,
) -> None:
    citizen = client.post(
        "/identity/v1/citizens", json={**CITIZEN, "full_name": "😀" * 200}
    )
    device = client.post("/admin/v1/devices", json={**DEVICE, "device_id": "😀" * 64})

    assert citizen.status_code == 201, citizen.text
    assert device.status_code == 201, device.text


def _clear(api: httpx.Client, reference: str) -> httpx.Response:
    body = {"booking_reference": reference, "device_id": "counter-3"}
    return api.post("/gate/v1/check-in/staff-clear", json=body)


@pytest.mark.both_databases
def test_staff_clear_reads_the_reference_in_any_case_with_spaces(
    client: TestClient, settings: Settings
) -> None:
    flight_id = schedule_flight(client, settings, "VN213")
    reference = book(client, register(client, "079090000001"), flight_id)

    cleared = _clear(client, f"  {reference.lower()} ")

    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["reason_code"] == "manual_check"
    assert cleared.json()["booking_reference"] == reference


@pytest.mark.both_databases
@pytest.mark.parametrize(("days_ahead", "origin"), [(1, None), (-1, None), (0, "DAD")])
def test_staff_clear_refuses_a_booking_not_leaving_this_airport_today(
    client: TestClient, settings: Settings, days_ahead: int, origin: str | None
) -> None:
    departure = datetime.now(settings.zone) + timedelta(days=days_ahead)
    body = {
        **FLIGHT,
        "origin": origin or settings.airport_code,
        "destination": "HUI",
        "departure_at": departure.isoformat(),
    }
    flight = client.post("/gate/v1/flights", json=body)
    assert flight.status_code == 201, flight.text
    reference = book(client, register(client, "079090000001"), flight.json()["id"])

    refused = _clear(client, reference)

    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["code"] == "booking_not_found"
    assert "leaving this airport today" in error["message"]
