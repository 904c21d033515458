"""End-to-end decision time of one gate image, split into its stages.

Stages: decode (bytes to upright RGB), detect (HOG), encode (landmarks and the
128-d descriptor), match (the comparison core on a flight-sized gallery) and
database plus rules (a real `decide` call on SQLite, less the match: today's
bookings and their templates are read from the database on every decision). Two inputs,
both made from one real photo: a 640x480 camera frame and a 12-megapixel phone
photo (4000x3000 JPEG).
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from biometrics import FaceEncoder, Gallery, decode_image
from gate_service.bookings import NewFlight, book, schedule_flight
from gate_service.touchpoints import GateRequest, Touchpoint, decide, present
from gatesim.crypto import TemplateCipher
from gatesim.db import transaction
from gatesim.runtime import build_runtime
from gatesim.settings import Settings
from identity_mock.models import FaceTemplate
from identity_mock.service import NewCitizen, register_citizen

FLIGHT_SIZE = 420
INPUTS = {"camera 640x480": (640, 480), "phone 12 MP": (4000, 3000)}


def run(photo: Path, *, repeats: int = 5) -> dict[str, Any]:
    """Median time of each stage (ms) for each input size."""
    encoder = FaceEncoder()
    with tempfile.TemporaryDirectory(prefix="gatesim-bench-") as scratch:
        settings = Settings(database_url=f"sqlite:///{Path(scratch) / 'bench.db'}")
        runtime = build_runtime(settings, encoder)
        _seed_flight(runtime.sessions, settings, runtime.cipher)
        rows = {
            label: _stages(runtime, _jpeg(photo, size), repeats)
            for label, size in INPUTS.items()
        }
        runtime.engine.dispose()
    return {"flight_size": FLIGHT_SIZE, "stages_ms": rows}


def _stages(runtime: Any, image_bytes: bytes, repeats: int) -> dict[str, float]:
    encoder: FaceEncoder = runtime.encoder
    limits = runtime.gate.limits
    image = decode_image(image_bytes, limits)
    box = encoder.detect(image)[0]
    probe = encoder.encode(image, box)
    gallery = _flight_gallery(probe)
    request = GateRequest(Touchpoint.SECURITY, "bench-1", image_bytes)

    timings = {
        "decode": _median_ms(lambda: decode_image(image_bytes, limits), repeats),
        "detect": _median_ms(lambda: encoder.detect(image), repeats),
        "encode": _median_ms(lambda: encoder.encode(image, box), repeats),
        "match": _median_ms(lambda: gallery.search(probe, k=2), repeats * 20),
    }
    decided = _median_ms(lambda: decide(runtime.gate, request, probe), repeats)
    timings["database and rules"] = max(0.0, decided - timings["match"])
    timings["total"] = _median_ms(lambda: present(runtime.gate, request), repeats)
    return {name: round(value, 2) for name, value in timings.items()}


def _seed_flight(sessions: Any, settings: Settings, cipher: TemplateCipher) -> None:
    """A flight of 420 booked, enrolled passengers (random templates)."""
    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        flight = schedule_flight(
            session,
            NewFlight("VN213", settings.airport_code, "HAN", now, "12"),
            zone=settings.zone,
        )
        for number in range(FLIGHT_SIZE):
            citizen = register_citizen(
                session,
                NewCitizen(f"{79_000_000_000 + number:012d}", "Hành khách", now.date()),
            )
            encoding = rng.normal(0.0, 0.09, 128).astype(np.float32)
            session.add(_template(citizen.id, encoding, now, cipher))
            book(
                session,
                citizen_id=citizen.id,
                flight_id=flight.id,
                checked_baggage=False,
            )


def _template(
    citizen_id: int, encoding: np.ndarray, now: datetime, cipher: TemplateCipher
) -> FaceTemplate:
    return FaceTemplate(
        citizen_id=citizen_id,
        encoding_bytes=cipher.seal(encoding, citizen_id=citizen_id),
        source="chip_photo",
        quality=1.0,
        face_width_px=200,
        model_name="synthetic",
        model_version="benchmark",
        created_at=now,
    )


def _flight_gallery(probe: np.ndarray) -> Gallery:
    rng = np.random.default_rng(2)
    encodings = rng.normal(0.0, 0.09, (FLIGHT_SIZE, 128)).astype(np.float32)
    encodings[0] = probe
    return Gallery.build([f"{i:04d}" for i in range(FLIGHT_SIZE)], encodings)


def _jpeg(photo: Path, size: tuple[int, int]) -> bytes:
    with Image.open(photo) as image:
        frame = ImageOps.fit(image.convert("RGB"), size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)
