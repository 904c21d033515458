"""How long a gate takes to build today's gallery from the database, by size.

A build reads the templates of everyone booked today (see
`gate_service.galleries.build`); gates do it at start-up and after each change
that alters who may be matched. Citizens, templates and bookings are inserted
in bulk into a fresh SQLite file; one flight per 420 passengers.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from gate_service.galleries import build, local_day_start
from gate_service.models import Booking, Flight
from gate_service.template_copies import copy_templates
from gatesim.crypto import TemplateCipher
from gatesim.db import create_schema, make_engine, session_factory
from gatesim.settings import Settings
from identity_mock.models import Citizen, FaceTemplate

FLIGHT_SIZE = 420


def run(sizes: tuple[int, ...], *, repeats: int = 3) -> list[dict[str, Any]]:
    """Build time (ms, best of `repeats`) and templates per second, per size."""
    return [_measure(size, repeats) for size in sizes]


def _measure(size: int, repeats: int) -> dict[str, Any]:
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="gatesim-build-") as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'build.db'}")
        create_schema(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        cipher = TemplateCipher.generate()
        with sessions.begin() as session:
            _fill(session, size, now, settings.airport_code, cipher)
            copy_templates(session)
        day_start = local_day_start(lambda: now, lambda t: t.astimezone(settings.zone))
        times = []
        for _ in range(repeats):
            with sessions() as session:
                started = time.perf_counter()
                gallery = build(
                    session, settings.airport_code, day_start, cipher=cipher
                )
                times.append(time.perf_counter() - started)
        engine.dispose()
    assert len(gallery) == size
    best = min(times)
    return {
        "size": size,
        "build_ms": round(1000 * best, 1),
        "templates_per_s": round(size / best),
    }


def _fill(
    session: Any, size: int, now: datetime, airport_code: str, cipher: TemplateCipher
) -> None:
    rng = np.random.default_rng(3)
    flights = (size + FLIGHT_SIZE - 1) // FLIGHT_SIZE
    session.execute(
        insert(Flight),
        [
            {
                "id": number + 1,
                "code": f"VN{number:04d}",
                "origin": airport_code,
                "destination": "HAN",
                "departure_at": now,
                "gate": "1",
            }
            for number in range(flights)
        ],
    )
    session.execute(
        insert(Citizen),
        [
            {
                "id": number + 1,
                "national_id": f"{number:012d}",
                "full_name": "Hành khách",
                "date_of_birth": date(1990, 1, 1),
                "account_level": 2,
                "biometric_consent": True,
                "created_at": now,
            }
            for number in range(size)
        ],
    )
    encodings = rng.normal(0.0, 0.09, (size, 128)).astype("<f4")
    session.execute(
        insert(FaceTemplate),
        [
            {
                "citizen_id": number + 1,
                "encoding_bytes": cipher.seal(encodings[number], citizen_id=number + 1),
                "source": "chip_photo",
                "quality": 1.0,
                "face_width_px": 200,
                "model_name": "synthetic",
                "model_version": "benchmark",
                "created_at": now,
            }
            for number in range(size)
        ],
    )
    session.execute(
        insert(Booking),
        [
            {
                "reference": f"B{number:05X}"[-6:],
                "citizen_id": number + 1,
                "flight_id": number // FLIGHT_SIZE + 1,
                "checked_baggage": False,
            }
            for number in range(size)
        ],
    )
