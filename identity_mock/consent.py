"""Consent to biometric use, and its withdrawal.

A citizen who withdraws consent, or asks for their faces to be deleted, leaves
every gallery at once: their templates, their enrolments held for review and
every airport's copies go in one transaction, and the change counter moves so
that every gate process rebuilds before its next decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from gate_service.template_copies import delete_copies_of
from gatesim.db import note_change
from identity_mock.models import Citizen, EnrolmentReview, FaceTemplate
from identity_mock.service import get_citizen


@dataclass(frozen=True)
class Erasure:
    """What was deleted of a citizen's biometric data."""

    templates: int
    reviews: int
    gate_copies: int


def set_consent(session: Session, citizen_id: int, *, consent: bool) -> Erasure:
    """Record consent; a withdrawal erases the citizen's biometric data."""
    citizen = get_citizen(session, citizen_id)
    citizen.biometric_consent = consent
    if consent:
        return Erasure(templates=0, reviews=0, gate_copies=0)
    return erase_faces(session, citizen)


def erase_faces(session: Session, citizen: Citizen) -> Erasure:
    """Delete the citizen's templates, held enrolments and gate-side copies."""
    gate_copies = delete_copies_of(session, citizen.id)
    templates = session.execute(
        delete(FaceTemplate).where(FaceTemplate.citizen_id == citizen.id)
    )
    reviews = session.execute(
        delete(EnrolmentReview).where(EnrolmentReview.citizen_id == citizen.id)
    )
    session.expire(citizen, ["templates"])
    note_change(session)
    return Erasure(
        templates=_rowcount(templates),
        reviews=_rowcount(reviews),
        gate_copies=gate_copies,
    )


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0))
