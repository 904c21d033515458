"""Image intake through the HTTP API, on images built here from one real photo.

Every kind of upload a phone, a scanner or a careless client may send is posted
to the gate camera and to enrolment. An image the README says is accepted must
give the same decision as the upright original (p06/2.jpg, a probe of p06 at a
distance of about 0.26 from the enrolled p06/1.jpg); anything else must be
refused with its own 4xx code and a message, never a 5xx or a hang.
"""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from gatesim.settings import Settings
from tests.journey import book, enrol, present, register, schedule_flight

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]
ImageKind = Callable[[Image.Image], bytes]

ENROLLED_PHOTO = "people/p06/1.jpg"
UPRIGHT_PROBE = "people/p06/2.jpg"
"""The same person as `ENROLLED_PHOTO`, upright, EXIF orientation 1."""

EXIF_ORIENTATION_TAG = 0x0112
LARGE_SIZE_PX = (8660, 5773)
"""About 50 megapixels: under the 60-megapixel limit, over 25 MB as raw RGB."""

DISTANCE_SHIFT_TOLERANCE = 0.15
"""How far (Euclidean, lower is closer) a re-encoded copy may move from the
upright original's distance to the enrolled template; grey copies move ~0.06."""

LARGE_IMAGE_TIMEOUT_S = 20.0
FUZZ_REQUEST_TIMEOUT_S = 10.0
BOMB_SIDE_PX = 12_000
"""144 megapixels of one colour: a small PNG over the 60-megapixel limit."""

OVERSIZED_BODY_BYTES = 26 * 1024 * 1024
"""Over the 25 MB body limit."""


def _template_count(client: TestClient, citizen_id: int) -> int:
    response = client.get(f"/identity/v1/citizens/{citizen_id}")
    assert response.status_code == 200, response.text
    return int(response.json()["template_count"])


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].strip()


# --- Image kinds, each built from the upright photo ---------------------------


def _save(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


_STORED_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
"""How a camera stores the pixels of an upright scene for each EXIF orientation.

Orientation 6 means "rotate 90° clockwise to view", so the stored pixels are
the upright scene turned 90° counter-clockwise (Pillow's ROTATE_90), and so on.
"""


def _exif_oriented(orientation: int) -> ImageKind:
    def build(upright: Image.Image) -> bytes:
        stored = upright.transpose(_STORED_FOR_ORIENTATION[orientation])
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = orientation
        return _save(stored, "JPEG", quality=95, exif=exif)

    return build


def _png_with_alpha(upright: Image.Image) -> bytes:
    """RGBA: the left quarter fully transparent, the right quarter half so."""
    width_px, height_px = upright.size
    alpha = np.full((height_px, width_px), 255, dtype=np.uint8)
    alpha[:, : width_px // 4] = 0
    alpha[:, width_px * 3 // 4 :] = 128
    rgba = upright.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha, mode="L"))
    return _save(rgba, "PNG")


def _palette_png_with_transparency(upright: Image.Image) -> bytes:
    """255 colours of the photo, plus index 255 transparent on the left strip."""
    palette = upright.quantize(colors=255)
    indices = np.asarray(palette, dtype=np.uint8).copy()
    indices[:, : upright.width // 5] = 255
    transparent = Image.fromarray(indices, mode="P")
    transparent.putpalette(palette.getpalette() or [])
    return _save(transparent, "PNG", transparency=255)


def _grayscale_8bit(upright: Image.Image) -> bytes:
    return _save(upright.convert("L"), "PNG")


def _grayscale_16bit(upright: Image.Image) -> bytes:
    grey_8bit = np.asarray(upright.convert("L"), dtype=np.uint16)
    grey_16bit = Image.fromarray((grey_8bit * 257).astype("<u2"))
    assert grey_16bit.mode == "I;16"
    return _save(grey_16bit, "PNG")


def _cmyk_jpeg(upright: Image.Image) -> bytes:
    return _save(upright.convert("CMYK"), "JPEG", quality=95)


def _webp(upright: Image.Image) -> bytes:
    return _save(upright, "WEBP", quality=90)


def _animated_gif(upright: Image.Image) -> bytes:
    """Two frames: the photo first, then a blank white frame."""
    blank = Image.new("RGB", upright.size, (255, 255, 255))
    return _save(upright, "GIF", save_all=True, append_images=[blank], duration=200)


def _fifty_megapixel_jpeg(upright: Image.Image) -> bytes:
    large = upright.resize(LARGE_SIZE_PX, Image.Resampling.BILINEAR)
    return _save(large, "JPEG", quality=85)


ACCEPTED_KINDS: dict[str, ImageKind] = {
    **{f"exif_orientation_{n}": _exif_oriented(n) for n in range(2, 9)},
    "png_with_alpha": _png_with_alpha,
    "palette_png_with_transparency": _palette_png_with_transparency,
    "grayscale_8bit": _grayscale_8bit,
    "grayscale_16bit_png": _grayscale_16bit,
    "cmyk_jpeg": _cmyk_jpeg,
    "webp": _webp,
    "animated_gif_first_frame": _animated_gif,
}
"""Image kinds the README accepts; each must decide like the upright original."""

ENROLLED_KINDS = (
    "exif_orientation_6",
    "png_with_alpha",
    "grayscale_16bit_png",
    "cmyk_jpeg",
    "webp",
)
"""A few accepted kinds also sent to enrolment."""


def _build(photo: Photo, kind: ImageKind) -> bytes:
    with Image.open(io.BytesIO(photo(UPRIGHT_PROBE))) as source:
        upright = source.convert("RGB")
    return kind(upright)


# --- A: accepted kinds decide like the upright original ------------------------


@pytest.fixture
def passenger(client: TestClient, settings: Settings, photo: Photo) -> int:
    """p06 enrolled from p06/1.jpg and booked on a flight leaving today."""
    flight_id = schedule_flight(client, settings, "VN213", "12")
    citizen_id = register(client, "079090000061")
    enrolled = enrol(client, citizen_id, photo(ENROLLED_PHOTO))
    assert enrolled.status_code == 201, enrolled.text
    book(client, citizen_id, flight_id)
    return citizen_id


def _assert_opens_for(answer: Any, passenger_id: int) -> None:
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["decision"] == "open"
    assert decision["reason_code"] in ("checked_in", "already_checked_in")
    assert decision["passenger_id"] == passenger_id
    assert decision["distance"] < decision["threshold"]


def test_upright_original_opens_check_in_for_the_enrolled_passenger(
    client: TestClient, passenger: int, photo: Photo
) -> None:
    answer = present(client, "check-in", photo(UPRIGHT_PROBE))

    _assert_opens_for(answer, passenger)


@pytest.mark.parametrize("kind_name", list(ACCEPTED_KINDS))
def test_accepted_image_kind_opens_check_in_like_the_upright_original(
    client: TestClient, passenger: int, photo: Photo, kind_name: str
) -> None:
    image = _build(photo, ACCEPTED_KINDS[kind_name])

    original = present(client, "check-in", photo(UPRIGHT_PROBE))
    answer = present(client, "check-in", image)

    _assert_opens_for(original, passenger)
    _assert_opens_for(answer, passenger)
    distance_shift = answer.json()["distance"] - original.json()["distance"]
    assert abs(distance_shift) < DISTANCE_SHIFT_TOLERANCE


def test_fifty_megapixel_jpeg_opens_check_in_within_the_time_limit(
    client: TestClient, passenger: int, photo: Photo
) -> None:
    image = _build(photo, _fifty_megapixel_jpeg)

    started = time.perf_counter()
    answer = present(client, "check-in", image)
    elapsed_s = time.perf_counter() - started

    _assert_opens_for(answer, passenger)
    assert elapsed_s < LARGE_IMAGE_TIMEOUT_S


@pytest.mark.parametrize("kind_name", ENROLLED_KINDS)
def test_accepted_image_kind_is_enrolled(
    client: TestClient, photo: Photo, kind_name: str
) -> None:
    citizen_id = register(client, "079090000062")
    image = _build(photo, ACCEPTED_KINDS[kind_name])

    enrolled = enrol(client, citizen_id, image)

    assert enrolled.status_code in (201, 202), enrolled.text
    assert _template_count(client, citizen_id) >= 1


# --- B: refused kinds, each with its own code -----------------------------------


def _text_named_jpeg(_photo: Photo) -> bytes:
    return b"Dear passenger, this is a text file and not a photo.\n" * 20


def _pdf_named_jpeg(_photo: Photo) -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"\n" * 512


def _truncated_jpeg(photo: Photo) -> bytes:
    whole = photo(UPRIGHT_PROBE)
    return whole[: len(whole) * 6 // 10]


def _truncated_png(photo: Photo) -> bytes:
    whole = _build(photo, _grayscale_8bit)
    return whole[: len(whole) * 6 // 10]


def _png_with_corrupt_idat(photo: Photo) -> bytes:
    """A PNG whose first IDAT chunk has a run of bytes inverted (bad CRC)."""
    whole = bytearray(_build(photo, _grayscale_8bit))
    data_start = whole.index(b"IDAT") + 4
    for offset in range(data_start + 16, data_start + 4096):
        whole[offset] ^= 0xFF
    return bytes(whole)


def _heic_like(_photo: Photo) -> bytes:
    return b"\x00\x00\x00\x18ftypheic" + b"\x00" * 4096


def _decompression_bomb_png(_photo: Photo) -> bytes:
    one_colour = Image.new("1", (BOMB_SIDE_PX, BOMB_SIDE_PX), 1)
    return _save(one_colour, "PNG")


def _png_header_claiming_a_bomb(_photo: Photo) -> bytes:
    """A hand-made PNG header of 144 megapixels with a tiny IDAT."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        length = len(payload).to_bytes(4, "big")
        crc = zlib.crc32(kind + payload).to_bytes(4, "big")
        return length + kind + payload + crc

    size = BOMB_SIDE_PX.to_bytes(4, "big") * 2
    header = chunk(b"IHDR", size + bytes([8, 0, 0, 0, 0]))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def _oversized_body(_photo: Photo) -> bytes:
    return b"\xff" * OVERSIZED_BODY_BYTES


def _scene(relative_path: str) -> Callable[[Photo], bytes]:
    def read(photo: Photo) -> bytes:
        return photo(relative_path)

    return read


RefusedKind = tuple[Callable[[Photo], bytes], int, str]

REFUSED_KINDS: dict[str, RefusedKind] = {
    "empty_body": (lambda _photo: b"", 400, "image_empty"),
    "text_named_jpeg": (_text_named_jpeg, 400, "image_unreadable"),
    "pdf_named_jpeg": (_pdf_named_jpeg, 400, "image_unreadable"),
    "truncated_jpeg": (_truncated_jpeg, 400, "image_truncated"),
    "truncated_png": (_truncated_png, 400, "image_truncated"),
    "png_with_corrupt_idat": (_png_with_corrupt_idat, 400, "image_truncated"),
    "heic_like": (_heic_like, 415, "image_unsupported_format"),
    "decompression_bomb_png": (_decompression_bomb_png, 413, "image_too_large"),
    "png_header_claiming_a_bomb": (
        _png_header_claiming_a_bomb,
        413,
        "image_too_large",
    ),
    "body_over_the_limit": (_oversized_body, 413, "image_too_large"),
    "no_face": (_scene("scenes/no_face_white.png"), 422, "no_face"),
    "several_faces": (_scene("scenes/two_people.jpg"), 422, "several_faces"),
}
"""Image kinds the README refuses, with the status and error code it documents."""

REFUSED_AT_ENROLMENT = (
    "empty_body",
    "pdf_named_jpeg",
    "truncated_jpeg",
    "heic_like",
    "decompression_bomb_png",
    "no_face",
)
"""A few refused kinds also sent to enrolment."""


@pytest.mark.parametrize("kind_name", list(REFUSED_KINDS))
def test_refused_image_kind_gets_its_own_code_at_check_in(
    client: TestClient, passenger: int, photo: Photo, kind_name: str
) -> None:
    build, status, code = REFUSED_KINDS[kind_name]

    response = present(client, "check-in", build(photo))

    _assert_error(response, status, code)


@pytest.mark.parametrize("kind_name", REFUSED_AT_ENROLMENT)
def test_refused_image_kind_gets_its_own_code_and_enrols_nothing(
    client: TestClient, photo: Photo, kind_name: str
) -> None:
    build, status, code = REFUSED_KINDS[kind_name]
    citizen_id = register(client, "079090000063")

    response = enrol(client, citizen_id, build(photo))

    _assert_error(response, status, code)
    assert _template_count(client, citizen_id) == 0


# --- C: fuzzed bytes are refused cleanly, never a 5xx or a hang ---------------


FUZZ_CROP_BOX = (380, 160, 444, 224)
"""A 64x64 crop ``(left, top, right, bottom)`` inside the face of p06/2.jpg."""


@pytest.fixture(scope="module")
def small_crops(faces: Path) -> list[bytes]:
    """A 64x64 crop of the face in p06/2.jpg: JPEG with EXIF, PNG and GIF bytes."""
    with Image.open(faces / UPRIGHT_PROBE) as source:
        crop = source.convert("RGB").crop(FUZZ_CROP_BOX)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = 6
    return [
        _save(crop, "JPEG", quality=90, exif=exif),
        _save(crop, "PNG"),
        _save(crop, "GIF"),
    ]


@st.composite
def _mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A real small image with slices cut, bytes overwritten and a prefix."""
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(data) - 1))
        length = draw(st.integers(1, 256))
        del data[start : start + length]
        if not data:
            return b""
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    prefix = draw(st.binary(max_size=16))
    return prefix + bytes(data)


def _upload_bytes(originals: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2048),
        st.sampled_from(originals).map(lambda data: data[: len(data) // 2]),
        _mutated(originals),
    )


def _assert_clean_answer(response: Any, elapsed_s: float) -> None:
    assert response.status_code < 500, response.text
    assert elapsed_s < FUZZ_REQUEST_TIMEOUT_S
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"]
        assert error["message"]


@pytest.fixture
def fuzz_citizen(client: TestClient) -> int:
    """A registered citizen to enrol fuzzed bytes into."""
    return register(client, "079090000064")


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzzed_upload_is_answered_without_a_server_error_or_a_hang(
    client: TestClient,
    fuzz_citizen: int,
    small_crops: list[bytes],
    data: st.DataObject,
) -> None:
    upload = data.draw(_upload_bytes(small_crops))

    for path in ("/gate/v1/security", f"/identity/v1/citizens/{fuzz_citizen}/faces"):
        files = {"image": ("frame.jpg", upload, "image/jpeg")}
        started = time.perf_counter()
        response = client.post(path, files=files, data={"device_id": "lane-3"})
        elapsed_s = time.perf_counter() - started

        _assert_clean_answer(response, elapsed_s)
