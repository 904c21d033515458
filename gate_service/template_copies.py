"""The airport's copies of booked passengers' templates.

A copy is made for each booking of an eligible citizen (level 2, consenting)
and each of their templates: when the booking is made, and when the citizen
enrols a face later. Copies are the sealed bytes, copied in SQL, never opened
on the way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, exists, insert, literal, select
from sqlalchemy.orm import Session

from gate_service.models import Booking, GateTemplateCopy
from identity_mock.models import Citizen, FaceTemplate


def copy_templates(
    session: Session, *, booking_id: int | None = None, citizen_id: int | None = None
) -> int:
    """Copy the templates of one booking, or of every booking of one citizen.

    Answers the number of copies made; a copy already there is not made again.
    """
    already = exists().where(
        GateTemplateCopy.booking_id == Booking.id,
        GateTemplateCopy.template_id == FaceTemplate.id,
    )
    source = (
        select(
            Booking.id,
            Booking.flight_id,
            FaceTemplate.citizen_id,
            FaceTemplate.id,
            FaceTemplate.encoding_bytes,
            literal(datetime.now(UTC), GateTemplateCopy.copied_at.type),
        )
        .join(FaceTemplate, FaceTemplate.citizen_id == Booking.citizen_id)
        .join(Citizen, Citizen.id == Booking.citizen_id)
        .where(
            Citizen.account_level == 2,
            Citizen.biometric_consent.is_(True),
            ~already,
        )
    )
    if booking_id is not None:
        source = source.where(Booking.id == booking_id)
    if citizen_id is not None:
        source = source.where(Booking.citizen_id == citizen_id)
    columns = ["booking_id", "flight_id", "citizen_id", "template_id"]
    statement = insert(GateTemplateCopy).from_select(
        [*columns, "encoding_sealed", "copied_at"], source
    )
    return _rowcount(session.execute(statement))


def delete_copies_of(session: Session, citizen_id: int) -> int:
    """Delete every gate-side copy of a citizen's templates; answers how many."""
    deleted = session.execute(
        delete(GateTemplateCopy).where(GateTemplateCopy.citizen_id == citizen_id)
    )
    return _rowcount(deleted)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0))
