"""HTTP steps of a passenger's journey, shared by the API tests.

Each step takes any httpx client (a `TestClient` is one) and asserts the
answer it needs to go on; `enrol` and `present` return the answer as it is,
since tests check refusals too.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from gatesim.settings import Settings


def register(
    api: httpx.Client,
    national_id: str,
    *,
    account_level: int = 2,
    full_name: str = "Nguyễn Thị Ánh",
) -> int:
    """Register a consenting citizen; their id."""
    body = {
        "national_id": national_id,
        "full_name": full_name,
        "date_of_birth": "1990-04-30",
        "account_level": account_level,
        "biometric_consent": True,
    }
    response = api.post("/identity/v1/citizens", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def enrol(api: httpx.Client, citizen_id: int, image: bytes) -> httpx.Response:
    """Post a face to the citizen's enrolment."""
    files = {"image": ("face.jpg", image, "image/jpeg")}
    return api.post(f"/identity/v1/citizens/{citizen_id}/faces", files=files)


def schedule_flight(
    api: httpx.Client, settings: Settings, code: str, gate: str = "12"
) -> int:
    """Schedule a flight leaving the airport now (so today); its id."""
    body = {
        "code": code,
        "origin": settings.airport_code,
        "destination": "HAN",
        "departure_at": datetime.now(settings.zone).isoformat(),
        "gate": gate,
    }
    response = api.post("/gate/v1/flights", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def book(
    api: httpx.Client, citizen_id: int, flight_id: int, *, bags: bool = False
) -> str:
    """Book the citizen on the flight; the booking reference."""
    body = {"citizen_id": citizen_id, "flight_id": flight_id, "checked_baggage": bags}
    response = api.post("/gate/v1/bookings", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def present(
    api: httpx.Client,
    touchpoint: str,
    image: bytes,
    *,
    device_id: str | None = None,
    **fields: str,
) -> httpx.Response:
    """Present a camera frame at a touchpoint (`check-in`, `security`, `boarding`)."""
    files = {"image": ("frame.jpg", image, "image/jpeg")}
    data = {"device_id": device_id or f"{touchpoint}-07", **fields}
    return api.post(f"/gate/v1/{touchpoint}", files=files, data=data)
