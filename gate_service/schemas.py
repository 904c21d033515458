"""Request and response bodies of the gate service's HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from gate_service.touchpoints import Decision, Touchpoint


class FlightIn(BaseModel):
    """A flight to schedule."""

    code: str = Field(pattern=r"^[A-Z0-9]{2}\d{1,4}$", examples=["VN213"])
    origin: str = Field(pattern=r"^[A-Z]{3}$", examples=["SGN"])
    destination: str = Field(pattern=r"^[A-Z]{3}$", examples=["HAN"])
    departure_at: AwareDatetime = Field(
        description="With a time zone offset, e.g. 2026-12-03T09:00:00+07:00."
    )
    gate: str = Field(min_length=1, max_length=8, examples=["12"])


class FlightOut(FlightIn):
    """A scheduled flight."""

    id: int


class BookingIn(BaseModel):
    """A booking of a citizen on a flight."""

    citizen_id: int
    flight_id: int
    checked_baggage: bool = False


class BookingOut(BaseModel):
    """A booking and how far through the airport its passenger is."""

    reference: str
    citizen_id: int
    flight_code: str
    gate: str
    departure_at: datetime
    checked_baggage: bool
    seat: str | None
    checked_in_at: datetime | None
    security_cleared_at: datetime | None
    boarded_at: datetime | None


class StaffClearIn(BaseModel):
    """A staff member clears a referred passenger after a document check."""

    booking_reference: str = Field(min_length=6, max_length=6)
    device_id: str = Field(min_length=1, max_length=64)


class GateDecisionOut(BaseModel):
    """What the touchpoint decided, and why."""

    touchpoint: Touchpoint
    decision: Decision
    reason_code: str
    reason: str
    distance: float | None = Field(description="Euclidean; lower is closer.")
    threshold: float | None
    passenger_id: int | None
    booking_reference: str | None
    flight_code: str | None
    gate: str | None
    seat: str | None
    departure_at: datetime | None
    latency_ms: float
    decision_id: int | None


class DecisionRecordOut(BaseModel):
    """One recorded decision (no image, no encoding)."""

    id: int
    touchpoint: str
    device_id: str
    decision: str
    reason_code: str
    flight_code: str | None
    distance: float | None
    threshold: float | None
    latency_ms: float
    by_staff: bool
    created_at: datetime
