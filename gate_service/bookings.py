"""Flights and bookings: what the airline systems would feed the gates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate_service.errors import (
    BookingExists,
    BookingNotFound,
    FlightExists,
    FlightNotFound,
)
from gate_service.models import Booking, Flight
from gate_service.template_copies import copy_templates
from gatesim.db import note_change
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


FLIGHTS_SCOPE = "flights"
"""Change counter that scheduling takes in turns (see `schedule_flight`)."""


def schedule_flight(session: Session, new: NewFlight, *, zone: tzinfo) -> Flight:
    """Add a flight; one code per local day of departure.

    The check and the insert run while this transaction holds the flights'
    change counter, so two requests at once cannot both pass the check.
    """
    note_change(session, FLIGHTS_SCOPE)
    local = new.departure_at.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = session.scalar(
        select(Flight.id).where(
            Flight.code == new.code.upper(),
            Flight.departure_at >= day_start,
            Flight.departure_at < day_start + timedelta(days=1),
        )
    )
    if same_day is not None:
        raise FlightExists()

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
        raise FlightNotFound("No flight has this id.")
    existing = session.scalar(
        select(Booking.id).where(
            Booking.citizen_id == citizen_id, Booking.flight_id == flight_id
        )
    )
    if existing is not None:
        raise BookingExists()

    booking = Booking(
        reference=_new_reference(session),
        citizen_id=citizen_id,
        flight_id=flight_id,
        checked_baggage=checked_baggage,
    )
    session.add(booking)
    session.flush()
    copy_templates(session, booking_id=booking.id)
    note_change(session)
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
