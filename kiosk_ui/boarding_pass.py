"""What the kiosk shows after check-in: a boarding pass with a QR code.

The QR code carries the boarding pass as ``GATESIM-BP|<booking>|<flight>|
<departure date>|<seat>|<gate>``: enough for a gate reader to find the booking,
and no name or ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import segno

from gate_service.touchpoints import GateAnswer

BOARDING_OPENS_BEFORE = timedelta(minutes=40)
"""Boarding starts this long before departure (domestic flights)."""


@dataclass(frozen=True)
class BoardingPassView:
    """The boarding pass as the kiosk prints it on screen."""

    passenger_name_masked: str
    booking_reference: str
    flight_code: str
    seat: str
    gate: str
    departure_time: str
    boarding_time: str
    """Local time, ``HH:MM``."""
    qr_payload: str
    qr_svg: str


def boarding_pass_view(
    answer: GateAnswer, full_name: str, zone: tzinfo
) -> BoardingPassView | None:
    """The boarding pass of an `open` check-in answer, or None."""
    if answer.booking_reference is None or answer.departure_at is None:
        return None
    if answer.seat is None or answer.flight_code is None or answer.gate is None:
        return None

    departure = answer.departure_at.astimezone(zone)
    payload = qr_payload(
        answer.booking_reference,
        answer.flight_code,
        departure,
        answer.seat,
        answer.gate,
    )
    return BoardingPassView(
        passenger_name_masked=mask_name(full_name),
        booking_reference=answer.booking_reference,
        flight_code=answer.flight_code,
        seat=answer.seat,
        gate=answer.gate,
        departure_time=departure.strftime("%H:%M"),
        boarding_time=(departure - BOARDING_OPENS_BEFORE).strftime("%H:%M"),
        qr_payload=payload,
        qr_svg=segno.make(payload, error="m").svg_inline(scale=6, border=4),
    )


def qr_payload(
    reference: str, flight_code: str, departure: datetime, seat: str, gate: str
) -> str:
    """The text a gate reader finds in the QR code."""
    return f"GATESIM-BP|{reference}|{flight_code}|{departure:%Y-%m-%d}|{seat}|{gate}"


def mask_name(full_name: str) -> str:
    """Keep the family name and the initials: ``Nguyễn V** A*``."""
    family, *others = full_name.split()
    masked = [name[0] + "*" * (len(name) - 1) for name in others]
    return " ".join([family, *masked])
