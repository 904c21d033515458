"""Enrolment quality, duplicate identities and bulk enrolment, on real photos."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageEnhance, ImageFilter

from biometrics import FaceEncoder
from enrollment import PoorQuality, QualityPolicy, capture_template
from gatesim.bulk import enrol_folder
from gatesim.runtime import build_runtime
from gatesim.settings import Settings
from identity_mock.models import BulkEnrolment

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]
PORTRAIT = "people/p06/1.jpg"


def _edited(data: bytes, edit: Callable[[Image.Image], Image.Image]) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        changed = edit(image.convert("RGB"))
    buffer = io.BytesIO()
    changed.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _capture_code(data: bytes, encoder: FaceEncoder) -> str | None:
    """The refusal code of an enrolment photo, or None if it is accepted."""
    try:
        capture_template(
            data, encoder, limits=Settings().image_limits(), policy=QualityPolicy()
        )
    except PoorQuality as error:
        return error.code
    return None


def test_a_good_portrait_is_accepted_with_its_measures(
    photo: Photo, encoder: FaceEncoder
) -> None:
    capture = capture_template(
        photo(PORTRAIT),
        encoder,
        limits=Settings().image_limits(),
        policy=QualityPolicy(),
    )

    measures = capture.measures
    assert measures.eye_distance_px > 90
    assert abs(measures.roll_deg) < 5
    assert abs(measures.yaw_ratio) < 0.2
    assert measures.eye_openness > 0.2
    assert 0.5 < measures.score <= 1.0


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda im: ImageEnhance.Brightness(im).enhance(0.25), "too_dark"),
        (lambda im: ImageEnhance.Brightness(im).enhance(2.6), "too_bright"),
        (lambda im: im.filter(ImageFilter.GaussianBlur(12)), "too_blurred"),
        (lambda im: im.resize((im.width // 5, im.height // 5)), "face_too_small"),
    ],
    ids=["dark", "bright", "blurred", "far"],
)
def test_a_poor_photo_is_refused_with_what_to_do(
    photo: Photo,
    encoder: FaceEncoder,
    edit: Callable[[Image.Image], Image.Image],
    code: str,
) -> None:
    assert _capture_code(_edited(photo(PORTRAIT), edit), encoder) == code


def test_a_turned_head_is_refused(photo: Photo, encoder: FaceEncoder) -> None:
    strict = QualityPolicy(max_yaw_ratio=0.1)

    with pytest.raises(PoorQuality) as refused:
        capture_template(
            photo("people/p09/1.jpg"),
            encoder,
            limits=Settings().image_limits(),
            policy=strict,
        )

    assert refused.value.code == "face_turned"


def test_a_tilted_head_is_refused(photo: Photo, encoder: FaceEncoder) -> None:
    strict = QualityPolicy(max_roll_deg=10.0)

    with pytest.raises(PoorQuality) as refused:
        capture_template(
            photo("people/p24/1.jpg"),
            encoder,
            limits=Settings().image_limits(),
            policy=strict,
        )

    assert refused.value.code == "face_tilted"


def _citizen(client: TestClient, national_id: str) -> int:
    body = {
        "national_id": national_id,
        "full_name": "Trần Thị Bình",
        "date_of_birth": "1985-02-01",
    }
    return int(client.post("/identity/v1/citizens", json=body).json()["id"])


def _enrol(
    client: TestClient, citizen_id: int, data: bytes
) -> tuple[int, dict[str, Any]]:
    files = {"image": ("face.jpg", data, "image/jpeg")}
    response = client.post(f"/identity/v1/citizens/{citizen_id}/faces", files=files)
    return response.status_code, response.json()


@pytest.mark.both_databases
def test_enrolment_stores_the_quality_measures(
    client: TestClient, photo: Photo
) -> None:
    citizen_id = _citizen(client, "079111000001")

    status, template = _enrol(client, citizen_id, photo(PORTRAIT))

    assert status == 201
    assert set(template["quality_measures"]) >= {
        "eye_distance_px",
        "roll_deg",
        "yaw_ratio",
        "eye_openness",
        "sharpness",
        "brightness",
        "score",
    }


def test_a_poor_photo_is_refused_through_the_api_and_leaves_nothing(
    client: TestClient, photo: Photo
) -> None:
    citizen_id = _citizen(client, "079111000002")
    dark = _edited(
        photo(PORTRAIT), lambda im: ImageEnhance.Brightness(im).enhance(0.25)
    )

    status, body = _enrol(client, citizen_id, dark)
    citizen = client.get(f"/identity/v1/citizens/{citizen_id}").json()

    assert status == 422
    assert body["error"]["code"] == "too_dark"
    assert "light" in body["error"]["message"]
    assert citizen["template_count"] == 0


@pytest.mark.both_databases
def test_a_face_enrolled_under_another_citizen_is_held_for_review(
    client: TestClient, photo: Photo
) -> None:
    first = _citizen(client, "079111000003")
    second = _citizen(client, "079111000004")
    _enrol(client, first, photo(PORTRAIT))

    status, body = _enrol(client, second, photo("people/p06/2.jpg"))
    held = client.get(f"/identity/v1/citizens/{second}").json()

    assert status == 202
    assert body["status"] == "held_for_review"
    assert held["template_count"] == 0


def test_the_same_citizen_may_enrol_a_second_photo(
    client: TestClient, photo: Photo
) -> None:
    citizen_id = _citizen(client, "079111000005")
    _enrol(client, citizen_id, photo(PORTRAIT))

    status, _ = _enrol(client, citizen_id, photo("people/p06/2.jpg"))

    assert status == 201


@pytest.mark.both_databases
def test_bulk_enrolment_resumes_after_an_interruption(
    faces: Path, tmp_path: Path, settings: Settings, encoder: FaceEncoder
) -> None:
    folder = tmp_path / "photos"
    for person, names in {"p06": ["1.jpg", "2.jpg"], "p09": ["1.jpg"]}.items():
        (folder / person).mkdir(parents=True)
        for name in names:
            (folder / person / name).symlink_to(faces / "people" / person / name)
    (folder / "p09" / "notes.jpg").write_text("not a photo")
    runtime = build_runtime(settings, encoder)

    first = enrol_folder(folder, runtime, max_photos=2, echo=False)
    second = enrol_folder(folder, runtime, echo=False)
    third = enrol_folder(folder, runtime, echo=False)
    with runtime.sessions() as session:
        recorded = session.query(BulkEnrolment).count()
    runtime.engine.dispose()

    assert sum(first.outcomes.values()) == 2
    assert second.skipped == 2
    assert second.outcomes["enrolled"] + first.outcomes["enrolled"] == 3
    assert second.refusals["image_unreadable"] == 1
    assert third.skipped == 4
    assert sum(third.outcomes.values()) == 0
    assert recorded == 4
