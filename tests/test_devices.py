"""Device API keys through the HTTP API: each device at its own touchpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from biometrics import FaceEncoder
from gatesim.app import create_app
from gatesim.runtime import build_runtime
from gatesim.settings import Settings

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]
ADMIN_KEY = "admin-key-for-tests-0123456789abcdef"
ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def locked(settings: Settings, encoder: FaceEncoder) -> Iterator[TestClient]:
    """The application with API keys required, on a fresh database."""
    settings = Settings(
        database_url=settings.database_url,
        template_key_file=settings.template_key_file,
        require_api_keys=True,
        admin_api_key=ADMIN_KEY,
    )
    with TestClient(create_app(settings, build_runtime(settings, encoder))) as client:
        yield client


def _device(
    client: TestClient,
    device_id: str,
    touchpoints: list[str],
    *,
    kind: str = "gate",
    headers: dict[str, str] = ADMIN,
) -> str:
    body = {"device_id": device_id, "kind": kind, "touchpoints": touchpoints}
    response = client.post("/admin/v1/devices", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def _passenger(client: TestClient, photo: Photo) -> int:
    citizen = {
        "national_id": "079090007777",
        "full_name": "Lê Văn Cường",
        "date_of_birth": "1985-01-02",
    }
    made = client.post("/identity/v1/citizens", json=citizen, headers=ADMIN)
    citizen_id = int(made.json()["id"])
    files = {"image": ("face.jpg", photo("people/p06/1.jpg"), "image/jpeg")}
    client.post(f"/identity/v1/citizens/{citizen_id}/faces", files=files, headers=ADMIN)
    flight = {
        "code": "VN213",
        "origin": "SGN",
        "destination": "HAN",
        "departure_at": datetime.now(UTC).isoformat(),
        "gate": "12",
    }
    flight_id = client.post("/gate/v1/flights", json=flight, headers=ADMIN).json()["id"]
    booking = {"citizen_id": citizen_id, "flight_id": flight_id}
    client.post("/gate/v1/bookings", json=booking, headers=ADMIN)
    return citizen_id


def _present(client: TestClient, touchpoint: str, image: bytes, key: str) -> Any:
    files = {"image": ("frame.jpg", image, "image/jpeg")}
    data = {"device_id": "claimed-by-the-request", "flight_code": "VN213"}
    headers = {"X-API-Key": key}
    return client.post(
        f"/gate/v1/{touchpoint}", files=files, data=data, headers=headers
    )


@pytest.mark.both_databases
def test_a_device_key_works_only_at_its_own_touchpoints(
    locked: TestClient, photo: Photo
) -> None:
    citizen_id = _passenger(locked, photo)
    gate_key = _device(locked, "gate-12", ["check-in"])
    face = photo("people/p06/2.jpg")

    at_own = _present(locked, "check-in", face, gate_key)
    at_other = _present(locked, "security", face, gate_key)
    files = {"image": ("face.jpg", face, "image/jpeg")}
    enrolling = locked.post(
        f"/identity/v1/citizens/{citizen_id}/faces",
        files=files,
        headers={"X-API-Key": gate_key},
    )
    reading = locked.get(
        f"/identity/v1/citizens/{citizen_id}/faces", headers={"X-API-Key": gate_key}
    )
    recorded = locked.get("/gate/v1/decisions", headers=ADMIN).json()

    assert at_own.json()["decision"] == "open"
    assert at_other.status_code == 403
    assert at_other.json()["error"]["code"] == "touchpoint_not_allowed"
    assert enrolling.status_code == 403
    assert enrolling.json()["error"]["code"] == "admin_key_required"
    assert reading.status_code == 403
    assert [record["device_id"] for record in recorded] == ["gate-12"]


def test_the_kiosk_page_checks_in_with_a_kiosk_key(
    locked: TestClient, photo: Photo
) -> None:
    _passenger(locked, photo)
    kiosk_key = _device(locked, "kiosk-3", ["check-in"], kind="kiosk")
    lane_key = _device(locked, "lane-1", ["security"])
    files = {"image": ("frame.jpg", photo("people/p06/2.jpg"), "image/jpeg")}

    page = locked.get("/kiosk")
    without = locked.post("/kiosk/v1/check-in", files=files)
    with_lane = locked.post(
        "/kiosk/v1/check-in", files=files, headers={"X-API-Key": lane_key}
    )
    with_kiosk = locked.post(
        "/kiosk/v1/check-in", files=files, headers={"X-API-Key": kiosk_key}
    )

    assert page.status_code == 200
    assert without.status_code == 401
    assert with_lane.status_code == 403
    assert with_kiosk.json()["boarding_pass"]["seat"] == "1A"


@pytest.mark.both_databases
def test_no_key_an_unknown_key_and_a_revoked_key_are_refused(
    locked: TestClient, photo: Photo
) -> None:
    face = photo("people/p06/2.jpg")
    gate_key = _device(locked, "gate-12", ["boarding"])
    revoked = locked.post("/admin/v1/devices/gate-12/revoke", headers=ADMIN)

    answers = {
        "none": locked.post("/gate/v1/flights", json={}),
        "unknown": _present(locked, "boarding", face, "gsk_not-a-key"),
        "revoked": _present(locked, "boarding", face, gate_key),
    }
    devices = locked.get("/admin/v1/devices", headers=ADMIN).json()

    assert revoked.status_code == 200
    assert devices[0]["revoked_at"] is not None
    assert "api_key" not in devices[0]
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "none": 401,
        "unknown": 401,
        "revoked": 401,
    }
    assert answers["none"].json()["error"]["code"] == "api_key_required"
    assert answers["revoked"].json()["error"]["code"] == "api_key_invalid"


def test_in_development_routes_work_without_keys_but_a_sent_key_is_checked(
    client: TestClient, photo: Photo
) -> None:
    face = photo("people/p06/2.jpg")
    key = _device(client, "lane-1", ["security"], headers={})

    listed = client.get("/admin/v1/devices")
    at_other = _present(client, "check-in", face, key)
    without_device = client.post(
        "/gate/v1/check-in", files={"image": ("f.jpg", face, "image/jpeg")}
    )

    assert listed.status_code == 200
    assert at_other.status_code == 403
    assert without_device.status_code == 422
    assert without_device.json()["error"]["code"] == "device_id_required"
