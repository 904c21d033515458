"""Privacy through the HTTP API: what is stored, sealed, purged and logged."""

from __future__ import annotations

import base64
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import LargeBinary, delete, func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from biometrics import FaceEncoder, decode_image
from gate_service.models import DecisionRecord, GateTemplateCopy
from gate_service.retention import run_purge
from gatesim import cli
from gatesim.app import create_app
from gatesim.crypto import (
    TemplateKeyError,
    TemplateUnreadable,
    development_key_file,
)
from gatesim.logmask import MaskNationalIds
from gatesim.runtime import Runtime, build_runtime
from gatesim.settings import Settings, get_settings
from identity_mock.models import Citizen, FaceTemplate

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]
NATIONAL_ID = "079090004242"
FULL_NAME = "Trần Thị Bích"
SEALED_COLUMNS = {
    ("face_templates", "encoding_bytes"),
    ("enrolment_reviews", "encoding_bytes"),
    ("gate_template_copies", "encoding_sealed"),
}


def _journey_start(client: TestClient, photo: Photo, *, departs: datetime) -> int:
    """p06 registered, enrolled and booked on VN213; answers the citizen id."""
    citizen = {
        "national_id": NATIONAL_ID,
        "full_name": FULL_NAME,
        "date_of_birth": "1990-04-30",
    }
    citizen_id = int(client.post("/identity/v1/citizens", json=citizen).json()["id"])
    files = {"image": ("face.jpg", photo("people/p06/1.jpg"), "image/jpeg")}
    enrolled = client.post(f"/identity/v1/citizens/{citizen_id}/faces", files=files)
    assert enrolled.status_code == 201, enrolled.text
    flight = {
        "code": "VN213",
        "origin": "SGN",
        "destination": "HAN",
        "departure_at": departs.isoformat(),
        "gate": "12",
    }
    flight_id = client.post("/gate/v1/flights", json=flight).json()["id"]
    booking = {"citizen_id": citizen_id, "flight_id": flight_id}
    assert client.post("/gate/v1/bookings", json=booking).status_code == 201
    return citizen_id


def _present(client: TestClient, touchpoint: str, image: bytes) -> Any:
    files = {"image": ("frame.jpg", image, "image/jpeg")}
    data = {"device_id": "gate-12", "flight_code": "VN213"}
    return client.post(f"/gate/v1/{touchpoint}", files=files, data=data)


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _count(runtime: Runtime, model: Any, *conditions: Any) -> int:
    with runtime.sessions() as session:
        query = select(func.count()).select_from(model).where(*conditions)
        return int(session.scalar(query) or 0)


@pytest.mark.both_databases
def test_no_image_or_encoding_is_stored_outside_the_sealed_templates(
    client: TestClient, photo: Photo
) -> None:
    _journey_start(client, photo, departs=datetime.now(UTC))
    face = photo("people/p06/2.jpg")
    _present(client, "check-in", face)
    _present(client, "check-in", b"not an image at all")

    engine = _runtime(client).engine
    binary = {
        (table, column["name"])
        for table in inspect(engine).get_table_names()
        for column in inspect(engine).get_columns(table)
        if isinstance(column["type"], LargeBinary)
    }
    with engine.connect() as connection:
        decision_columns = [c["name"] for c in inspect(engine).get_columns("decisions")]
        rows = connection.exec_driver_sql("SELECT * FROM decisions").all()

    assert binary <= SEALED_COLUMNS
    assert not {"image", "encoding", "face"} & set(decision_columns)
    assert len(rows) == 2
    assert all(not isinstance(value, bytes) for row in rows for value in row)


def test_templates_are_sealed_at_rest_and_still_match(
    client: TestClient, photo: Photo, encoder: FaceEncoder
) -> None:
    citizen_id = _journey_start(client, photo, departs=datetime.now(UTC))
    runtime = _runtime(client)
    with runtime.sessions() as session:
        stored = session.scalars(select(FaceTemplate.encoding_bytes)).one()
        copies = session.scalars(select(GateTemplateCopy.encoding_sealed)).all()
    enrolled = encoder.encode_one(decode_image(photo("people/p06/1.jpg"))).encoding
    clear = np.asarray(enrolled, dtype="<f4").tobytes()

    opened = runtime.cipher.open(stored, citizen_id=citizen_id)
    checked_in = _present(client, "check-in", photo("people/p06/2.jpg")).json()

    assert clear not in stored
    assert copies == [stored]
    np.testing.assert_allclose(opened, enrolled, atol=1e-6)
    assert checked_in["decision"] == "open"


def test_another_key_is_refused_at_start_up(
    client: TestClient, photo: Photo, settings: Settings, encoder: FaceEncoder
) -> None:
    _journey_start(client, photo, departs=datetime.now(UTC))
    other_key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    other = settings.model_copy(update={"template_key": other_key})

    with pytest.raises(TemplateKeyError, match="sealed with another key"):
        build_runtime(other, encoder)


def test_development_key_file_is_private_and_reused(
    settings: Settings, encoder: FaceEncoder
) -> None:
    key_file = development_key_file(settings)
    assert key_file is not None

    first = build_runtime(settings, encoder)
    second = build_runtime(settings, encoder)
    sealed = first.cipher.seal(np.zeros(128, np.float32), citizen_id=1)

    assert key_file.name == "test.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert second.cipher.open(sealed, citizen_id=1).shape == (128,)
    with pytest.raises(TemplateUnreadable):
        second.cipher.open(sealed, citizen_id=2)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"environment": "production"}, "ADMIN_API_KEY"),
        (
            {"environment": "production", "admin_api_key": "a" * 40},
            "TEMPLATE_KEY",
        ),
        ({"template_key": "c2hvcnQ="}, "32 bytes"),
        ({"require_api_keys": True, "admin_api_key": "short"}, "32 characters"),
        ({"decision_retention_days": 0}, "greater than or equal"),
    ],
)
def test_unsafe_settings_are_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(**fields)


@pytest.mark.both_databases
def test_withdrawn_consent_leaves_every_worker_gallery_at_once(
    client: TestClient, photo: Photo, settings: Settings, encoder: FaceEncoder
) -> None:
    citizen_id = _journey_start(client, photo, departs=datetime.now(UTC))
    face = photo("people/p06/2.jpg")
    other_worker = build_runtime(settings, encoder)
    with TestClient(create_app(settings, other_worker)) as worker_b:
        matched = _present(worker_b, "check-in", face).json()
        withdrawn = client.post(
            f"/identity/v1/citizens/{citizen_id}/consent",
            json={"biometric_consent": False},
        )
        after = _present(worker_b, "security", face).json()

    runtime = _runtime(client)
    assert matched["decision"] == "open"
    assert withdrawn.status_code == 200
    assert withdrawn.json()["template_count"] == 0
    assert (after["decision"], after["reason_code"]) == (
        "refer",
        "face_not_recognised",
    )
    assert _count(runtime, FaceTemplate) == 0
    assert _count(runtime, GateTemplateCopy) == 0


def test_deleting_faces_removes_copies_and_enrolment_needs_consent(
    client: TestClient, photo: Photo
) -> None:
    citizen_id = _journey_start(client, photo, departs=datetime.now(UTC))
    files = {"image": ("face.jpg", photo("people/p06/1.jpg"), "image/jpeg")}

    deleted = client.delete(f"/identity/v1/citizens/{citizen_id}/faces")
    referred = _present(client, "check-in", photo("people/p06/2.jpg")).json()
    client.post(
        f"/identity/v1/citizens/{citizen_id}/consent",
        json={"biometric_consent": False},
    )
    refused = client.post(f"/identity/v1/citizens/{citizen_id}/faces", files=files)

    assert deleted.json()["template_count"] == 0
    assert referred["reason_code"] == "face_not_recognised"
    assert _count(_runtime(client), GateTemplateCopy) == 0
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "consent_required"


@pytest.mark.both_databases
def test_purge_removes_departed_copies_and_expired_records(
    client: TestClient, photo: Photo, settings: Settings
) -> None:
    departed = datetime.now(UTC) - timedelta(hours=settings.gate_copy_grace_hours + 1)
    _journey_start(client, photo, departs=departed)
    runtime = _runtime(client)
    _present(client, "security", b"not an image")
    old = datetime.now(UTC) - timedelta(days=settings.decision_retention_days + 1)
    with runtime.sessions.begin() as session:
        session.execute(update(DecisionRecord).values(created_at=old))
    copies_before = _count(runtime, GateTemplateCopy)

    purged = client.post("/admin/v1/purge").json()

    assert copies_before == 1
    assert purged == {"gate_copies": 1, "templates": 0, "reviews": 0, "decisions": 1}
    assert _count(runtime, GateTemplateCopy) == 0
    assert _count(runtime, DecisionRecord) == 0
    assert _count(runtime, FaceTemplate) == 1


@pytest.mark.both_databases
def test_purge_by_command_and_by_several_processes_at_once(
    client: TestClient,
    photo: Photo,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _journey_start(client, photo, departs=datetime.now(UTC))
    runtime = _runtime(client)
    expired = datetime.now(UTC) - timedelta(days=settings.enrolment_retention_days + 1)
    with runtime.sessions.begin() as session:
        session.execute(update(FaceTemplate).values(created_at=expired))
    reports = []

    def purge_once() -> None:
        periods = settings.retention()
        reports.append(run_purge(runtime.sessions, periods, datetime.now(UTC)))

    workers = [threading.Thread(target=purge_once) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    monkeypatch.setenv("GATESIM_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    exit_code = cli.main(["purge"])
    get_settings.cache_clear()

    assert sum(report.templates for report in reports) == 1
    assert sum(report.gate_copies for report in reports) == 1
    assert exit_code == 0
    assert "purged: 0 gate template copies, 0 templates" in capsys.readouterr().out
    assert _count(runtime, FaceTemplate) == 0


class _RawRecords(logging.Handler):
    """Keeps every record's message as it was logged, before any mask."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def raw_records() -> Iterator[_RawRecords]:
    """A first handler on the root logger that sees records unmasked."""
    handler = _RawRecords()
    root = logging.getLogger()
    root.handlers.insert(0, handler)
    yield handler
    root.removeHandler(handler)


def test_a_whole_journey_logs_no_id_number_name_or_encoding(
    client: TestClient,
    photo: Photo,
    encoder: FaceEncoder,
    caplog: pytest.LogCaptureFixture,
    raw_records: _RawRecords,
) -> None:
    caplog.set_level(logging.DEBUG)
    face = photo("people/p06/2.jpg")
    probe = encoder.encode_one(decode_image(face)).encoding
    _journey_start(client, photo, departs=datetime.now(UTC))
    answers = [
        _present(client, "check-in", face).json(),
        _present(client, "security", face).json(),
        _present(client, "boarding", face).json(),
        _present(client, "boarding", b"not an image").json(),
    ]

    logged = "\n".join([caplog.text, *raw_records.messages])
    values = [f"{value:.4f}" for value in probe[:8]]

    assert [answer.get("decision") for answer in answers[:3]] == ["open"] * 3
    assert "gate decision" in logged
    assert NATIONAL_ID not in logged
    assert FULL_NAME not in logged
    assert "Trần" not in logged
    assert not [value for value in values if value in logged]


def test_the_log_mask_hides_twelve_digit_numbers() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "citizen %s at %s", ("079090004242", 7), None
    )

    MaskNationalIds().filter(record)

    assert record.getMessage() == "citizen 079*******42 at 7"


def test_a_database_with_clear_templates_is_refused_until_sealed(
    client: TestClient,
    photo: Photo,
    settings: Settings,
    encoder: FaceEncoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    citizen_id = _journey_start(client, photo, departs=datetime.now(UTC))
    enrolled = encoder.encode_one(decode_image(photo("people/p06/1.jpg"))).encoding
    clear = np.asarray(enrolled, dtype="<f4").tobytes()
    runtime = _runtime(client)
    with runtime.sessions.begin() as session:  # as an earlier version left it
        session.execute(update(FaceTemplate).values(encoding_bytes=clear))
        session.execute(delete(GateTemplateCopy))

    with pytest.raises(TemplateKeyError, match="gatesim seal"):
        build_runtime(settings, encoder)
    monkeypatch.setenv("GATESIM_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    exit_code = cli.main(["seal"])
    get_settings.cache_clear()
    with TestClient(create_app(settings, build_runtime(settings, encoder))) as sealed:
        checked_in = _present(sealed, "check-in", photo("people/p06/2.jpg")).json()

    assert exit_code == 0
    assert checked_in["decision"] == "open"
    assert checked_in["passenger_id"] == citizen_id


def test_the_log_mask_hides_id_numbers_in_tracebacks_too() -> None:
    try:
        raise ValueError("no citizen 079090004242")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    MaskNationalIds().filter(record)

    assert record.exc_text is not None
    assert "079*******42" in record.exc_text
    assert NATIONAL_ID not in record.exc_text


@pytest.mark.both_databases
def test_a_logged_database_error_carries_no_name_or_id_number(
    client: TestClient, photo: Photo
) -> None:
    runtime = _runtime(client)
    duplicate = Citizen(
        national_id=NATIONAL_ID,
        full_name=FULL_NAME,
        date_of_birth=date(1990, 4, 30),
        account_level=2,
        biometric_consent=True,
        created_at=datetime.now(UTC),
    )
    _journey_start(client, photo, departs=datetime.now(UTC))

    with runtime.sessions() as session:
        session.add(duplicate)
        try:
            session.flush()
        except IntegrityError:
            record = logging.LogRecord(
                "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
            )
    MaskNationalIds().filter(record)
    logged = logging.Formatter().format(record)

    assert "IntegrityError" in logged
    assert NATIONAL_ID not in logged
    assert FULL_NAME not in logged


def test_a_refused_secret_setting_is_not_echoed() -> None:
    secret = "an admin key far too short"

    with pytest.raises(ValidationError) as refused:
        Settings(require_api_keys=True, admin_api_key=secret)

    assert secret not in str(refused.value)
