"""Flights and bookings: what the airline systems would feed the gates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate_service.errors import BookingNotFound
from gate_service.models import Booking, Flight
from identity_mock.service import get_citizen

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6


@dataclass(frozen=True)
class NewFlight:
    """A flight to schedule."""

    code: str
    origin: str
    destination: str
    departure_at: datetime
    gate: str


def schedule_flight(session: Session, new: NewFlight) -> Flight:
    """Add a flight."""
    flight = Flight(
        code=new.code.upper(),
        origin=new.origin.upper(),
        destination=new.destination.upper(),
        departure_at=new.departure_at,
        gate=new.gate,
    )
    session.add(flight)
    session.flush()
    return flight


def book(
    session: Session, *, citizen_id: int, flight_id: int, checked_baggage: bool
) -> Booking:
    """Book a citizen on a flight, with a fresh booking reference."""
    get_citizen(session, citizen_id)
    if session.get(Flight, flight_id) is None:
        raise BookingNotFound("No flight has this id.")

    booking = Booking(
        reference=_new_reference(session),
        citizen_id=citizen_id,
        flight_id=flight_id,
        checked_baggage=checked_baggage,
    )
    session.add(booking)
    session.flush()
    return booking


def find_booking(session: Session, reference: str) -> Booking:
    """The booking with this reference, or `BookingNotFound`."""
    booking = session.scalar(
        select(Booking).where(Booking.reference == reference.strip().upper())
    )
    if booking is None:
        raise BookingNotFound()
    return booking


def _new_reference(session: Session) -> str:
    while True:
        reference = "".join(
            secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
        )
        taken = session.scalar(select(Booking.id).where(Booking.reference == reference))
        if taken is None:
            return reference
