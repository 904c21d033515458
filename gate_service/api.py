"""HTTP API of the gate service (``/gate/v1``). Thin: logic is in `touchpoints`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from sqlalchemy import select

from gate_service import bookings
from gate_service.errors import DeviceIdRequired
from gate_service.models import Booking, DecisionRecord, Flight
from gate_service.schemas import (
    BookingIn,
    BookingOut,
    BookingReference,
    DecisionRecordOut,
    DeviceId,
    FlightCodeClaim,
    FlightIn,
    FlightOut,
    GateDecisionOut,
    StaffClearIn,
)
from gate_service.touchpoints import GateRequest, Touchpoint, present, staff_clear
from gatesim.deps import ImageUpload, RuntimeDep, SessionDep, read_upload
from gatesim.security import CallerDep, device_for, require_admin
from identity_mock.schemas import NationalId

router = APIRouter(prefix="/gate/v1", tags=["gate"])
ADMIN_ONLY = [Depends(require_admin)]


@router.post("/flights", status_code=201, dependencies=ADMIN_ONLY)
def schedule_flight(
    body: FlightIn, session: SessionDep, runtime: RuntimeDep
) -> FlightOut:
    """Schedule a departing flight (409 if its code already flies that day)."""
    new = bookings.NewFlight(**body.model_dump())
    flight = bookings.schedule_flight(session, new, zone=runtime.settings.zone)
    return _flight_out(flight)


@router.get("/flights", dependencies=ADMIN_ONLY)
def list_flights(session: SessionDep) -> list[FlightOut]:
    """All flights, earliest departure first."""
    flights = session.scalars(select(Flight).order_by(Flight.departure_at))
    return [_flight_out(flight) for flight in flights]


@router.post("/bookings", status_code=201, dependencies=ADMIN_ONLY)
def create_booking(body: BookingIn, session: SessionDep) -> BookingOut:
    """Book a citizen on a flight."""
    booking = bookings.book(session, **body.model_dump())
    session.refresh(booking)
    return _booking_out(booking)


@router.get("/bookings/{reference}", dependencies=ADMIN_ONLY)
def read_booking(reference: BookingReference, session: SessionDep) -> BookingOut:
    """A booking by its reference."""
    return _booking_out(bookings.find_booking(session, reference))


@router.get("/decisions", dependencies=ADMIN_ONLY)
def list_decisions(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[DecisionRecordOut]:
    """The latest recorded decisions, newest first."""
    records = session.scalars(
        select(DecisionRecord).order_by(DecisionRecord.id.desc()).limit(limit)
    )
    return [DecisionRecordOut.model_validate(r, from_attributes=True) for r in records]


@router.post("/{touchpoint}")
def present_face(
    touchpoint: Touchpoint,
    image: ImageUpload,
    runtime: RuntimeDep,
    caller: CallerDep,
    device_id: Annotated[DeviceId | None, Form()] = None,
    flight_code: Annotated[FlightCodeClaim | None, Form()] = None,
    booking_reference: Annotated[BookingReference | None, Form()] = None,
    national_id: Annotated[NationalId | None, Form()] = None,
) -> GateDecisionOut:
    """A passenger looks at the touchpoint camera: open, deny or refer.

    With a device key, the device id recorded is the key's own.
    """
    recorded_device = device_for(caller, touchpoint.value, device_id)
    if recorded_device is None:
        raise DeviceIdRequired()
    request = GateRequest(
        touchpoint=touchpoint,
        device_id=recorded_device,
        image_bytes=read_upload(image),
        flight_code=flight_code,
        booking_reference=booking_reference,
        national_id=national_id,
    )
    return GateDecisionOut(**asdict(present(runtime.gate, request)))


@router.post("/{touchpoint}/staff-clear")
def clear_by_staff(
    touchpoint: Touchpoint, body: StaffClearIn, runtime: RuntimeDep, caller: CallerDep
) -> GateDecisionOut:
    """Staff clear a referred passenger after checking their documents."""
    device_id = device_for(caller, touchpoint.value, body.device_id) or body.device_id
    answer = staff_clear(runtime.gate, touchpoint, body.booking_reference, device_id)
    return GateDecisionOut(**asdict(answer))


def _flight_out(flight: Flight) -> FlightOut:
    return FlightOut.model_validate(flight, from_attributes=True)


def _booking_out(booking: Booking) -> BookingOut:
    boarding_pass = booking.boarding_pass
    return BookingOut(
        reference=booking.reference,
        citizen_id=booking.citizen_id,
        flight_code=booking.flight.code,
        gate=booking.flight.gate,
        departure_at=booking.flight.departure_at,
        checked_baggage=booking.checked_baggage,
        seat=boarding_pass.seat if boarding_pass else None,
        checked_in_at=booking.checked_in_at,
        security_cleared_at=booking.security_cleared_at,
        boarded_at=booking.boarded_at,
    )
