"""The three touchpoints (check-in, security, boarding) and their decisions.

Each touchpoint matches a camera image against the enrolled faces of today's
passengers, then applies the airport's rule for that touchpoint, and answers
`open`, `deny` or `refer` (to staff, for a manual document check) with a reason a
person understands. Every decision is recorded, without the image.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from biometrics import (
    DecisionRule,
    FaceEncoder,
    FaceError,
    ImageLimits,
    MatchOutcome,
    MatchResult,
    check_time,
    decode_image,
)
from gate_service.errors import BookingNotFound, FlightCodeRequired, FlightNotFound
from gate_service.galleries import TodaysGallery, local_day_start
from gate_service.models import BoardingPass, Booking, DecisionRecord, Flight
from gatesim.db import hold_row, run_in_transaction, transaction
from gatesim.metrics import DECISIONS, STAGE_SECONDS
from identity_mock.models import Citizen

logger = logging.getLogger(__name__)

SEAT_LETTERS = "ABCDEF"


class Touchpoint(StrEnum):
    """Where in the airport the camera stands."""

    CHECK_IN = "check-in"
    SECURITY = "security"
    BOARDING = "boarding"


class Decision(StrEnum):
    """What the touchpoint does: open the gate, deny, or refer to staff."""

    OPEN = "open"
    DENY = "deny"
    REFER = "refer"


REASONS: dict[str, str] = {
    "checked_in": "Checked in. Your boarding pass is ready.",
    "already_checked_in": "You are already checked in. Here is your boarding pass.",
    "checked_baggage": "You have checked baggage: please check in at the counter.",
    "security_cleared": "Security check passed. Proceed to the screening lane.",
    "not_checked_in": "You are not checked in yet: check in at a kiosk or counter.",
    "boarded": "Welcome aboard.",
    "already_boarded": "This passenger has already boarded. Please see staff.",
    "security_not_cleared": "Please go through security before boarding.",
    "wrong_flight": "This gate is not for your flight.",
    "no_booking": "No booking for this passenger today: please see staff.",
    "face_not_recognised": "Face not recognised: please see staff with your ID.",
    "face_ambiguous": "Face not confirmed: please see staff with your ID.",
    "manual_check": "Cleared by staff after a document check.",
}
"""Reason code to the message shown to the passenger."""

NOT_LEAVING_TODAY = (
    "No booking with this reference is on a flight leaving this airport today: "
    "check the reference and the date on the passenger's documents."
)


@dataclass(frozen=True)
class GateRequest:
    """One presentation at a touchpoint camera."""

    touchpoint: Touchpoint
    device_id: str
    image_bytes: bytes
    flight_code: str | None = None
    """The flight boarding at this gate (boarding only)."""
    booking_reference: str | None = None
    """A claim: the booking reference on a document, for a 1:1 match."""
    national_id: str | None = None
    """A claim: the ID card number read at the touchpoint, for a 1:1 match."""


@dataclass(frozen=True)
class GateAnswer:
    """The decision at a touchpoint, with what the passenger and staff need."""

    touchpoint: Touchpoint
    decision: Decision
    reason_code: str
    reason: str
    distance: float | None = None
    threshold: float | None = None
    passenger_id: int | None = None
    booking_reference: str | None = None
    flight_code: str | None = None
    gate: str | None = None
    seat: str | None = None
    departure_at: datetime | None = None
    latency_ms: float = 0.0
    decision_id: int | None = None


@dataclass(frozen=True)
class GateContext:
    """What the touchpoints need, built once per process."""

    sessions: sessionmaker[Session]
    encoder: FaceEncoder
    rule: DecisionRule
    limits: ImageLimits
    airport_code: str
    now: Callable[[], datetime]
    """Current time, timezone-aware (the demo and the tests may fix it)."""
    zone_offset: Callable[[datetime], datetime]
    """Turns an aware time into the airport's local time."""
    galleries: TodaysGallery
    """Today's passengers' templates, cached in this process."""


def present(context: GateContext, request: GateRequest) -> GateAnswer:
    """Decide on one presentation at a touchpoint and record the decision."""
    started = time.perf_counter()
    if request.touchpoint is Touchpoint.BOARDING and not request.flight_code:
        raise FlightCodeRequired()
    check_time()
    try:
        with STAGE_SECONDS.labels("decode").time():
            image = decode_image(request.image_bytes, context.limits)
        with STAGE_SECONDS.labels("encode").time():
            probe = context.encoder.encode_one(image).encoding
    except FaceError as error:
        _record_refusal(context, request, error, _elapsed_ms(started))
        raise
    with STAGE_SECONDS.labels("decide").time():
        return decide(context, request, probe, started=started)


def decide(
    context: GateContext,
    request: GateRequest,
    probe: np.ndarray,
    *,
    started: float | None = None,
) -> GateAnswer:
    """Decide for an already encoded probe: match, apply the rule, record."""
    started = time.perf_counter() if started is None else started
    check_time()  # past this point the decision is made, recorded and answered

    def decide_and_record(session: Session) -> GateAnswer:
        answer = _decide(session, context, request, probe)
        answer = replace(answer, latency_ms=_elapsed_ms(started))
        record = _record(session, request, answer, by_staff=False)
        return replace(answer, decision_id=record.id)

    answer = run_in_transaction(context.sessions, decide_and_record)
    _log(answer)
    return answer


def staff_clear(
    context: GateContext,
    touchpoint: Touchpoint,
    booking_reference: str,
    device_id: str,
) -> GateAnswer:
    """A staff member clears a referred passenger after checking their documents.

    Only a booking on a flight leaving this airport today can be cleared.
    """
    started = time.perf_counter()
    reference = normalise_reference(booking_reference)
    day_start = local_day_start(context.now, context.zone_offset)
    today = _departing_today(context.airport_code, day_start)

    def clear_and_record(session: Session) -> GateAnswer:
        booking = session.scalar(
            select(Booking).join(Flight).where(Booking.reference == reference, *today)
        )
        if booking is None:
            raise BookingNotFound(NOT_LEAVING_TODAY)
        answer = _advance(session, context, touchpoint, booking, None, by_staff=True)
        if answer.decision is Decision.OPEN:  # a refusal keeps its own reason
            answer = replace(
                answer, reason_code="manual_check", reason=REASONS["manual_check"]
            )
        answer = replace(answer, latency_ms=_elapsed_ms(started))
        request = GateRequest(touchpoint, device_id, b"")
        record = _record(session, request, answer, by_staff=True)
        return replace(answer, decision_id=record.id)

    return run_in_transaction(context.sessions, clear_and_record)


def normalise_reference(booking_reference: str) -> str:
    """A booking reference as stored: no spaces around it, upper case."""
    return booking_reference.strip().upper()


def _decide(
    session: Session,
    context: GateContext,
    request: GateRequest,
    probe: np.ndarray,
) -> GateAnswer:
    day_start = local_day_start(context.now, context.zone_offset)
    today = _departing_today(context.airport_code, day_start)
    flight = _boarding_flight(session, request, today)
    claimed = _claimed_citizen(session, request, today)
    gallery = context.galleries.current(session, day_start)

    if claimed is None:
        match = context.rule.identify(gallery, probe)
    else:
        match = context.rule.verify(gallery, probe, str(claimed))
    if match.outcome is not MatchOutcome.MATCH or match.subject_id is None:
        return _unmatched(request.touchpoint, match)

    passenger_id = int(match.subject_id)
    own = _bookings_of(session, passenger_id, today)
    if not own:
        return GateAnswer(
            request.touchpoint, Decision.REFER, "no_booking", REASONS["no_booking"]
        )
    booking = _pick_booking(own, flight)
    answer = _advance(
        session, context, request.touchpoint, booking, flight, by_staff=False
    )
    return replace(
        answer,
        distance=match.distance,
        threshold=match.threshold,
        passenger_id=passenger_id,
    )


def _departing_today(airport_code: str, day_start: datetime) -> list[Any]:
    """SQL conditions: a flight leaving this airport on the local day."""
    return [
        Flight.origin == airport_code,
        Flight.departure_at >= day_start,
        Flight.departure_at < day_start + timedelta(days=1),
    ]


def _bookings_of(session: Session, citizen_id: int, today: list[Any]) -> list[Booking]:
    """The passenger's bookings on flights leaving today, earliest first."""
    return list(
        session.scalars(
            select(Booking)
            .join(Flight)
            .where(Booking.citizen_id == citizen_id, *today)
            .order_by(Flight.departure_at)
        )
    )


def _boarding_flight(
    session: Session, request: GateRequest, today: list[Any]
) -> Flight | None:
    if request.touchpoint is not Touchpoint.BOARDING:
        return None
    code = (request.flight_code or "").strip().upper()
    flight = session.scalar(select(Flight).where(Flight.code == code, *today))
    if flight is None:
        raise FlightNotFound()
    return flight


def _claimed_citizen(
    session: Session, request: GateRequest, today: list[Any]
) -> int | None:
    """The citizen a claim names, if it names one booked today."""
    if request.booking_reference:
        reference = normalise_reference(request.booking_reference)
        claim = select(Booking.citizen_id).where(Booking.reference == reference)
    elif request.national_id:
        claim = (
            select(Booking.citizen_id)
            .join(Citizen, Citizen.id == Booking.citizen_id)
            .where(Citizen.national_id == request.national_id.strip())
        )
    else:
        return None
    citizen_id = session.scalar(claim.join(Flight).where(*today).limit(1))
    if citizen_id is None:
        raise BookingNotFound()
    return int(citizen_id)


def _pick_booking(own: list[Booking], flight: Flight | None) -> Booking:
    """This flight's booking if the passenger has one, else the next not boarded."""
    for booking in own:
        if flight is not None and booking.flight_id == flight.id:
            return booking
    pending = [b for b in own if b.boarded_at is None]
    return (pending or own)[0]


def _unmatched(touchpoint: Touchpoint, match: MatchResult) -> GateAnswer:
    code = (
        "face_ambiguous"
        if match.outcome is MatchOutcome.AMBIGUOUS
        else "face_not_recognised"
    )
    return GateAnswer(
        touchpoint,
        Decision.REFER,
        code,
        REASONS[code],
        distance=match.distance,
        threshold=match.threshold,
    )


def _advance(
    session: Session,
    context: GateContext,
    touchpoint: Touchpoint,
    booking: Booking,
    flight: Flight | None,
    *,
    by_staff: bool,
) -> GateAnswer:
    """Apply the touchpoint's airport rule to the passenger's booking.

    Staff at the counter take checked baggage themselves, so a check-in cleared
    by staff issues the boarding pass whatever the baggage.
    """
    now = context.now()
    if touchpoint is Touchpoint.CHECK_IN:
        return _check_in(session, booking, now, bags_dropped=by_staff)
    if touchpoint is Touchpoint.SECURITY:
        return _security(session, booking, now)
    return _board(session, booking, flight or booking.flight, now)


def _check_in(
    session: Session, booking: Booking, now: datetime, *, bags_dropped: bool
) -> GateAnswer:
    # Check-ins on one flight take turns: without it, two kiosks could give
    # one seat twice, or one passenger two boarding passes.
    hold_row(session, Flight.gate, Flight.id == booking.flight_id)
    session.refresh(booking)  # another kiosk may have checked them in meanwhile
    needs_counter = booking.checked_baggage and not bags_dropped
    if needs_counter and booking.boarding_pass is None:
        return _answer(Touchpoint.CHECK_IN, Decision.REFER, "checked_baggage", booking)
    if booking.boarding_pass is not None:
        return _answer(
            Touchpoint.CHECK_IN, Decision.OPEN, "already_checked_in", booking
        )

    seat = _next_seat(session, booking.flight_id)
    session.add(
        BoardingPass(
            booking_id=booking.id, flight_id=booking.flight_id, seat=seat, issued_at=now
        )
    )
    booking.checked_in_at = now
    session.flush()
    session.refresh(booking)
    return _answer(Touchpoint.CHECK_IN, Decision.OPEN, "checked_in", booking)


def _security(session: Session, booking: Booking, now: datetime) -> GateAnswer:
    if booking.checked_in_at is None:
        return _answer(Touchpoint.SECURITY, Decision.DENY, "not_checked_in", booking)
    if booking.security_cleared_at is None:
        booking.security_cleared_at = now
        session.flush()
    return _answer(Touchpoint.SECURITY, Decision.OPEN, "security_cleared", booking)


def _board(
    session: Session, booking: Booking, flight: Flight, now: datetime
) -> GateAnswer:
    if booking.flight_id != flight.id:
        answer = _answer(Touchpoint.BOARDING, Decision.DENY, "wrong_flight", booking)
        reason = (
            f"This gate is boarding {flight.code}. Your flight "
            f"{booking.flight.code} boards at gate {booking.flight.gate}."
        )
        return replace(answer, reason=reason)
    if booking.security_cleared_at is None:
        return _answer(
            Touchpoint.BOARDING, Decision.DENY, "security_not_cleared", booking
        )

    boarded = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.boarded_at.is_(None))
        .values(boarded_at=now)
    )
    code = "boarded" if _rowcount(boarded) == 1 else "already_boarded"
    decision = Decision.OPEN if code == "boarded" else Decision.DENY
    return _answer(Touchpoint.BOARDING, decision, code, booking)


def _next_seat(session: Session, flight_id: int) -> str:
    issued = session.scalars(
        select(BoardingPass.seat).where(BoardingPass.flight_id == flight_id)
    ).all()
    taken = set(issued)
    number = len(taken)
    while True:
        seat = f"{number // len(SEAT_LETTERS) + 1}{SEAT_LETTERS[number % 6]}"
        if seat not in taken:
            return seat
        number += 1


def _answer(
    touchpoint: Touchpoint, decision: Decision, code: str, booking: Booking
) -> GateAnswer:
    boarding_pass = booking.boarding_pass
    return GateAnswer(
        touchpoint,
        decision,
        code,
        REASONS[code],
        passenger_id=booking.citizen_id,
        booking_reference=booking.reference,
        flight_code=booking.flight.code,
        gate=booking.flight.gate,
        seat=boarding_pass.seat if boarding_pass else None,
        departure_at=booking.flight.departure_at,
    )


def _record(
    session: Session, request: GateRequest, answer: GateAnswer, *, by_staff: bool
) -> DecisionRecord:
    booking_id = None
    if answer.booking_reference:
        booking_id = session.scalar(
            select(Booking.id).where(Booking.reference == answer.booking_reference)
        )
    record = DecisionRecord(
        touchpoint=request.touchpoint.value,
        device_id=request.device_id,
        decision=answer.decision.value,
        reason_code=answer.reason_code,
        booking_id=booking_id,
        flight_code=answer.flight_code or request.flight_code,
        distance=answer.distance,
        threshold=answer.threshold,
        latency_ms=answer.latency_ms,
        by_staff=by_staff,
        created_at=datetime.now(UTC),
    )
    session.add(record)
    session.flush()
    return record


def _record_refusal(
    context: GateContext, request: GateRequest, error: FaceError, latency_ms: float
) -> None:
    answer = GateAnswer(
        request.touchpoint,
        Decision.REFER,
        error.code,
        error.message,
        latency_ms=latency_ms,
    )
    with transaction(context.sessions) as session:
        _record(session, request, answer, by_staff=False)
    logger.warning(
        "gate refused image touchpoint=%s device=%s code=%s latency_ms=%.1f",
        request.touchpoint,
        request.device_id,
        error.code,
        latency_ms,
    )


def _log(answer: GateAnswer) -> None:
    DECISIONS.labels(answer.touchpoint.value, answer.decision.value).inc()
    distance = f"{answer.distance:.3f}" if answer.distance is not None else "-"
    logger.info(
        "gate decision touchpoint=%s decision=%s reason=%s distance=%s "
        "threshold=%s latency_ms=%.1f",
        answer.touchpoint,
        answer.decision,
        answer.reason_code,
        distance,
        answer.threshold,
        answer.latency_ms,
    )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _rowcount(result: object) -> int:
    """Rows an UPDATE changed (SQLAlchemy types it on CursorResult only)."""
    count = getattr(result, "rowcount", 0)
    return int(count)
