"""Bring a database from before encryption at rest up to date.

Earlier versions stored encodings in clear (512 bytes each) and built
galleries from the identity service's templates directly. `seal_clear_rows`
seals every clear encoding in place and makes the airport's copies of the
booked passengers' templates; it is safe to run again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gate_service.template_copies import copy_templates
from gatesim.crypto import ENCODING_BYTES, TemplateCipher
from gatesim.db import note_change
from identity_mock.models import EnrolmentReview, FaceTemplate


@dataclass(frozen=True)
class Sealed:
    """How many rows one run sealed or copied."""

    templates: int
    reviews: int
    gate_copies: int


def seal_clear_rows(session: Session, cipher: TemplateCipher) -> Sealed:
    """Seal clear encodings, then copy templates to the bookings lacking them."""
    templates = _seal(session, FaceTemplate, cipher)
    reviews = _seal(session, EnrolmentReview, cipher)
    gate_copies = copy_templates(session)
    if templates or gate_copies:
        note_change(session)
    return Sealed(templates, reviews, gate_copies)


def _seal(
    session: Session,
    model: type[FaceTemplate] | type[EnrolmentReview],
    cipher: TemplateCipher,
) -> int:
    clear = session.execute(
        select(model.id, model.citizen_id, model.encoding_bytes).where(
            func.length(model.encoding_bytes) == ENCODING_BYTES
        )
    ).all()
    for row_id, citizen_id, encoding_bytes in clear:
        encoding = np.frombuffer(encoding_bytes, dtype="<f4")
        session.execute(
            update(model)
            .where(model.id == row_id)
            .values(encoding_bytes=cipher.seal(encoding, citizen_id=citizen_id))
        )
    return len(clear)
