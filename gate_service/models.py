"""Tables of the airport side: flights, bookings, boarding passes, decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gatesim.db import Base

FLIGHT_CODE_LENGTH = 8
"""Most characters of a flight code, as stored (PostgreSQL refuses longer)."""


class Flight(Base):
    """A departing flight."""

    __tablename__ = "flights"
    __table_args__ = (UniqueConstraint("code", "departure_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(FLIGHT_CODE_LENGTH), index=True)
    origin: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(3))
    departure_at: Mapped[datetime] = mapped_column(index=True)
    gate: Mapped[str] = mapped_column(String(8))


class Booking(Base):
    """A citizen's seat on a flight, and how far through the airport they are."""

    __tablename__ = "bookings"
    __table_args__ = (UniqueConstraint("citizen_id", "flight_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(6), unique=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    flight_id: Mapped[int] = mapped_column(ForeignKey("flights.id"), index=True)
    checked_baggage: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[datetime | None]
    security_cleared_at: Mapped[datetime | None]
    boarded_at: Mapped[datetime | None]

    flight: Mapped[Flight] = relationship(lazy="joined")
    boarding_pass: Mapped[BoardingPass | None] = relationship(
        back_populates="booking", lazy="joined"
    )


class BoardingPass(Base):
    """The boarding pass issued at check-in: one per booking, one seat per flight."""

    __tablename__ = "boarding_passes"
    __table_args__ = (UniqueConstraint("flight_id", "seat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    flight_id: Mapped[int] = mapped_column(ForeignKey("flights.id"))
    seat: Mapped[str] = mapped_column(String(4))
    issued_at: Mapped[datetime]

    booking: Mapped[Booking] = relationship(back_populates="boarding_pass")


class DecisionRecord(Base):
    """One touchpoint decision, kept for audit. No image or encoding is stored."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint: Mapped[str] = mapped_column(String(12), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(8))
    reason_code: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    flight_code: Mapped[str | None] = mapped_column(String(FLIGHT_CODE_LENGTH))
    distance: Mapped[float | None]
    threshold: Mapped[float | None]
    latency_ms: Mapped[float]
    by_staff: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(index=True)


class GateTemplateCopy(Base):
    """The airport's copy of a booked passenger's template, for one booking.

    The identity service hands the airport the templates of a flight's
    passengers; the airport matches against these copies only, and deletes
    them once the flight has left (`gate_service.retention`). The bytes are the
    identity service's sealed template, unchanged: never a clear encoding.
    """

    __tablename__ = "gate_template_copies"
    __table_args__ = (
        UniqueConstraint(
            "booking_id",
            "template_id",
            name="uq_gate_template_copies_booking_template",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    flight_id: Mapped[int] = mapped_column(
        ForeignKey("flights.id", ondelete="CASCADE"), index=True
    )
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(
        ForeignKey("face_templates.id", ondelete="CASCADE"), index=True
    )
    encoding_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    """The template as the identity service sealed it (`gatesim.crypto`)."""
    copied_at: Mapped[datetime]


class Device(Base):
    """A gate, kiosk or counter camera, its API key (hashed) and its touchpoints."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The device id recorded with each of its decisions."""
    kind: Mapped[str] = mapped_column(String(12))
    """``gate``, ``kiosk`` or ``counter``."""
    touchpoints: Mapped[list[str]] = mapped_column(JSON)
    """Touchpoints it may present faces at: ``check-in``, ``security``, ``boarding``."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    """SHA-256 (hex) of its API key; the key itself is shown once, never stored."""
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
