"""The gallery of today's passengers, cached per process and kept fresh.

The gates match against the enrolled faces of everyone booked on a flight that
leaves this airport today (airport local date), whose identity account is level
2 and who consented. Building it reads every such template from the database,
so each process keeps the last one built and reuses it until the local date or
the database's change counter (`gatesim.db.note_change`) moves on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import Gallery, LiveGallery
from gate_service.models import Booking, Flight
from gatesim.db import change_count
from gatesim.metrics import GALLERY_TEMPLATES
from identity_mock.service import eligible_gallery


class TodaysGallery:
    """Today's eligible passengers' templates, rebuilt only when something changed."""

    def __init__(self, airport_code: str) -> None:
        self.airport_code = airport_code
        self._live = LiveGallery()
        self._built_for: tuple[datetime, int] | None = None
        self._build_lock = threading.Lock()

    def current(self, session: Session, day_start: datetime) -> Gallery:
        """The gallery for the day starting at `day_start`, fresh as of now."""
        key = (day_start, change_count(session))
        if key != self._built_for:
            with self._build_lock:
                if key != self._built_for:
                    self._live.replace(build(session, self.airport_code, day_start))
                    self._built_for = key
                    GALLERY_TEMPLATES.set(len(self._live.snapshot))
        return self._live.snapshot


def build(session: Session, airport_code: str, day_start: datetime) -> Gallery:
    """Read today's eligible templates from the database into a new gallery."""
    passengers = (
        select(Booking.citizen_id)
        .join(Flight)
        .where(
            Flight.origin == airport_code,
            Flight.departure_at >= day_start,
            Flight.departure_at < day_start + timedelta(days=1),
        )
    )
    return eligible_gallery(session, passengers)


def local_day_start(
    now: Callable[[], datetime], to_local: Callable[[datetime], datetime]
) -> datetime:
    """Midnight at the airport, today, as an aware time."""
    local_now = to_local(now())
    return local_now.replace(hour=0, minute=0, second=0, microsecond=0)
