"""Request and response bodies of the gate service's HTTP API."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from gate_service.models import FLIGHT_CODE_LENGTH
from gate_service.touchpoints import Decision, Touchpoint
from gatesim.inputs import Id, Printable

DEPARTURE_YEARS = range(2000, 2101)
"""Years a departure may fall in: a wider window is a typing slip."""
UTC_OFFSET_LIMITS = (timedelta(hours=-12), timedelta(hours=14))
"""The time zone offsets in use on Earth, west to east."""
ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
"""How an ISO 8601 date and time starts (a bare number would be a Unix time)."""

DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=64), Printable]
"""The id of a camera, kiosk or counter (the `devices` and decision columns)."""

BookingReference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^[A-Za-z0-9]{6}$", to_upper=True
    ),
    Printable,
]
"""A booking reference: 6 letters and digits, any case, spaces around ignored."""

FlightCodeClaim = Annotated[
    str, StringConstraints(max_length=FLIGHT_CODE_LENGTH), Printable
]
"""The flight a boarding gate names (matched case-insensitively)."""

GateName = Annotated[str, StringConstraints(min_length=1, max_length=8), Printable]


def _iso_text(value: object) -> object:
    """Refuses a departure time that is not ISO 8601 text (or a `datetime`)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE_TIME.match(value):
        raise ValueError(
            "give an ISO 8601 date and time with its offset, "
            "e.g. 2026-12-03T09:00:00+07:00"
        )
    return value


def _plausible_departure(departure: datetime) -> datetime:
    """Refuses a year outside `DEPARTURE_YEARS` or an offset no zone uses."""
    if departure.year not in DEPARTURE_YEARS:
        first, last = DEPARTURE_YEARS[0], DEPARTURE_YEARS[-1]
        raise ValueError(f"the year must be from {first} to {last}")
    offset = departure.utcoffset()
    west, east = UTC_OFFSET_LIMITS
    if offset is None or not west <= offset <= east:
        raise ValueError("the time zone offset must be from -12:00 to +14:00")
    return departure


DepartureTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_plausible_departure)
]


class FlightIn(BaseModel):
    """A flight to schedule."""

    code: str = Field(pattern=r"^[A-Z0-9]{2}[0-9]{1,4}$", examples=["VN213"])
    origin: str = Field(pattern=r"^[A-Z]{3}$", examples=["SGN"])
    destination: str = Field(pattern=r"^[A-Z]{3}$", examples=["HAN"])
    departure_at: DepartureTime = Field(
        description="ISO 8601 with its offset, e.g. 2026-12-03T09:00:00+07:00; "
        f"years {DEPARTURE_YEARS[0]} to {DEPARTURE_YEARS[-1]}."
    )
    gate: GateName = Field(examples=["12"])

    @field_validator("destination")
    @classmethod
    def _not_the_origin(cls, destination: str, info: ValidationInfo) -> str:
        """A flight goes somewhere else."""
        if destination == info.data.get("origin"):
            raise ValueError("must differ from the origin")
        return destination


class FlightOut(BaseModel):
    """A scheduled flight."""

    code: str
    origin: str
    destination: str
    departure_at: datetime
    gate: str
    id: int


class BookingIn(BaseModel):
    """A booking of a citizen on a flight."""

    citizen_id: Id
    flight_id: Id
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

    booking_reference: BookingReference
    device_id: DeviceId


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
