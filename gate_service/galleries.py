"""The gallery of today's passengers, cached per process and kept fresh.

The gates match against the airport's copies of the templates of everyone
booked on a flight that leaves this airport today (airport local date), whose
identity account is level 2 and who consented (`gate_service.template_copies`).
Building it reads and opens every such copy,
so each process keeps the last one built and reuses it until the local date or
the database's change counter (`gatesim.db.note_change`) moves on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from biometrics import Gallery, LiveGallery
from gate_service.models import Flight, GateTemplateCopy
from gatesim.crypto import TemplateCipher, TemplateUnreadable
from gatesim.db import change_count
from gatesim.metrics import GALLERY_TEMPLATES
from identity_mock.models import Citizen

logger = logging.getLogger(__name__)


class TodaysGallery:
    """Today's eligible passengers' templates, rebuilt only when something changed."""

    def __init__(self, airport_code: str, cipher: TemplateCipher) -> None:
        self.airport_code = airport_code
        self.cipher = cipher
        self._live = LiveGallery()
        self._built_for: tuple[datetime, int] | None = None
        self._build_lock = threading.Lock()

    def current(self, session: Session, day_start: datetime) -> Gallery:
        """The gallery for the day starting at `day_start`, fresh as of now."""
        key = (day_start, change_count(session))
        if key != self._built_for:
            with self._build_lock:
                if key != self._built_for:
                    self._live.replace(
                        build(session, self.airport_code, day_start, cipher=self.cipher)
                    )
                    self._built_for = key
                    GALLERY_TEMPLATES.set(len(self._live.snapshot))
        return self._live.snapshot


def build(
    session: Session,
    airport_code: str,
    day_start: datetime,
    *,
    cipher: TemplateCipher,
) -> Gallery:
    """Read and open today's eligible template copies into a new gallery.

    A passenger booked on two flights today has one copy per booking; each
    template is opened once. A copy that does not open is left out (and
    logged by its id): that passenger is referred to staff, never matched
    against garbage.
    """
    rows = session.execute(
        select(
            GateTemplateCopy.template_id,
            GateTemplateCopy.citizen_id,
            GateTemplateCopy.encoding_sealed,
        )
        .join(Flight, Flight.id == GateTemplateCopy.flight_id)
        .join(Citizen, Citizen.id == GateTemplateCopy.citizen_id)
        .where(
            Flight.origin == airport_code,
            Flight.departure_at >= day_start,
            Flight.departure_at < day_start + timedelta(days=1),
            Citizen.account_level == 2,
            Citizen.biometric_consent.is_(True),
        )
    ).all()
    return _open_gallery(rows, cipher)


def _open_gallery(
    rows: Sequence[Row[int, int, bytes]], cipher: TemplateCipher
) -> Gallery:
    subject_ids: list[str] = []
    encodings: list[bytes] = []
    seen: set[int] = set()
    for template_id, citizen_id, sealed in rows:
        if template_id in seen:
            continue
        seen.add(template_id)
        try:
            encodings.append(cipher.open_bytes(sealed, citizen_id=citizen_id))
        except TemplateUnreadable:
            logger.warning("template %d does not open: left out", template_id)
            continue
        subject_ids.append(str(citizen_id))
    if not encodings:
        return Gallery.empty()
    matrix = np.frombuffer(b"".join(encodings), dtype="<f4")
    return Gallery.build(subject_ids, matrix.reshape(len(subject_ids), -1))


def local_day_start(
    now: Callable[[], datetime], to_local: Callable[[datetime], datetime]
) -> datetime:
    """Midnight at the airport, today, as an aware time."""
    local_now = to_local(now())
    return local_now.replace(hour=0, minute=0, second=0, microsecond=0)
