"""The identity mock's logic: citizens, enrolment, 1:1 verify and 1:N identify.

Plain functions over a SQLAlchemy session; the HTTP router, the demo and the gate
service all call these. Subjects in galleries are citizen ids as strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from biometrics import (
    MODEL_NAME,
    MODEL_VERSION,
    Candidate,
    DecisionRule,
    FaceEncoder,
    Gallery,
    ImageLimits,
    MatchResult,
    decode_image,
)
from enrollment import QualityPolicy, capture_template
from gate_service.template_copies import copy_templates
from gatesim.crypto import TemplateCipher
from gatesim.db import hold_row, note_change
from identity_mock.errors import CitizenNotFound, ConsentRequired, NationalIdTaken
from identity_mock.models import (
    Citizen,
    EnrolmentReview,
    FaceTemplate,
    TemplateSource,
)


@dataclass(frozen=True)
class NewCitizen:
    """What the identity service is told about a new citizen."""

    national_id: str
    full_name: str
    date_of_birth: date
    account_level: int = 2
    biometric_consent: bool = True


def register_citizen(session: Session, new: NewCitizen) -> Citizen:
    """Add a citizen; the identification number must be unused."""
    taken = session.scalar(
        select(Citizen.id).where(Citizen.national_id == new.national_id)
    )
    if taken is not None:
        raise NationalIdTaken()

    citizen = Citizen(
        national_id=new.national_id,
        full_name=new.full_name,
        date_of_birth=new.date_of_birth,
        account_level=new.account_level,
        biometric_consent=new.biometric_consent,
        created_at=datetime.now(UTC),
    )
    session.add(citizen)
    session.flush()
    return citizen


def get_citizen(session: Session, citizen_id: int) -> Citizen:
    """The citizen with this id, or `CitizenNotFound`."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise CitizenNotFound()
    return citizen


def enrol_face(
    session: Session,
    citizen_id: int,
    image_bytes: bytes,
    *,
    encoder: FaceEncoder,
    limits: ImageLimits,
    policy: QualityPolicy,
    duplicate_threshold: float,
    cipher: TemplateCipher,
    source: TemplateSource = TemplateSource.COUNTER_CAPTURE,
) -> FaceTemplate | EnrolmentReview:
    """Enrol a face for the citizen, or hold it for review if it is someone else's.

    A refused photo raises and writes nothing. A face within
    `duplicate_threshold` of another citizen's template (the distance at which
    the gates would take one for the other) is not enrolled: it is held in an
    `EnrolmentReview` for staff. The encoding is stored sealed with `cipher`,
    and a new template is copied to the airports where the citizen is booked.
    """
    citizen = get_citizen(session, citizen_id)
    if not citizen.biometric_consent:
        raise ConsentRequired()
    capture = capture_template(image_bytes, encoder, limits=limits, policy=policy)
    # Take turns with a consent withdrawal: one withdrawn while the photo was
    # encoded is seen here; one that comes later waits and erases this face.
    hold_row(session, Citizen.biometric_consent, Citizen.id == citizen.id)
    session.refresh(citizen)
    if not citizen.biometric_consent:
        raise ConsentRequired()
    look_alike = _nearest_other_citizen(
        session, citizen.id, capture.encoding, cipher=cipher
    )
    sealed = cipher.seal(capture.encoding, citizen_id=citizen.id)

    now = datetime.now(UTC)
    measures = capture.measures.as_dict()
    if look_alike is not None and look_alike.distance <= duplicate_threshold:
        review = EnrolmentReview(
            citizen_id=citizen.id,
            matching_citizen_id=int(look_alike.subject_id),
            distance=look_alike.distance,
            encoding_bytes=sealed,
            source=source.value,
            quality_measures=measures,
            created_at=now,
        )
        session.add(review)
        session.flush()
        return review

    template = FaceTemplate(
        citizen_id=citizen.id,
        encoding_bytes=sealed,
        source=source.value,
        quality=round(capture.measures.score, 3),
        face_width_px=capture.face_width_px,
        quality_measures=measures,
        model_name=MODEL_NAME,
        model_version=MODEL_VERSION,
        created_at=now,
    )
    session.add(template)
    session.flush()
    copy_templates(session, citizen_id=citizen.id)
    note_change(session)
    return template


def _nearest_other_citizen(
    session: Session,
    citizen_id: int,
    encoding: np.ndarray,
    *,
    cipher: TemplateCipher,
) -> Candidate | None:
    """The other citizen whose enrolled face is nearest, eligible or not."""
    others = select(Citizen.id).where(Citizen.id != citizen_id)
    gallery = _gallery(session, others, eligible_only=False, cipher=cipher)
    found = gallery.search(encoding, k=1)
    return found[0] if found else None


def eligible_gallery(
    session: Session,
    citizen_ids: Iterable[int] | Select[Any],
    *,
    cipher: TemplateCipher,
) -> Gallery:
    """Templates of the citizens listed (or selected) who may be matched at airports.

    `citizen_ids` is a list of ids or a SQL select of them, so that a gate can
    name "everyone booked today" without reading the ids first.
    """
    return _gallery(session, citizen_ids, eligible_only=True, cipher=cipher)


def _gallery(
    session: Session,
    citizen_ids: Iterable[int] | Select[Any],
    *,
    eligible_only: bool,
    cipher: TemplateCipher,
) -> Gallery:
    wanted = citizen_ids if isinstance(citizen_ids, Select) else list(set(citizen_ids))
    if not isinstance(wanted, Select) and not wanted:
        return Gallery.empty()

    query = (
        select(FaceTemplate.citizen_id, FaceTemplate.encoding_bytes)
        .join(Citizen)
        .where(FaceTemplate.citizen_id.in_(wanted))
    )
    if eligible_only:
        query = query.where(
            Citizen.account_level == 2, Citizen.biometric_consent.is_(True)
        )
    rows = session.execute(query).all()
    if not rows:
        return Gallery.empty()
    subject_ids = [str(citizen_id) for citizen_id, _ in rows]
    encodings = [cipher.open(blob, citizen_id=citizen_id) for citizen_id, blob in rows]
    return Gallery.build(subject_ids, np.stack(encodings))


def probe_encoding(
    image_bytes: bytes, *, encoder: FaceEncoder, limits: ImageLimits
) -> np.ndarray:
    """The encoding of the one face in a probe image."""
    return encoder.encode_one(decode_image(image_bytes, limits)).encoding


def verify(
    session: Session,
    citizen_id: int,
    probe: np.ndarray,
    *,
    rule: DecisionRule,
    cipher: TemplateCipher,
    cohort_ids: Iterable[int] = (),
) -> MatchResult:
    """1:1: is the probe this citizen? Other citizens listed serve as the cohort."""
    get_citizen(session, citizen_id)
    gallery = eligible_gallery(session, [citizen_id, *cohort_ids], cipher=cipher)
    return rule.verify(gallery, probe, str(citizen_id))


def identify(
    session: Session,
    citizen_ids: Iterable[int],
    probe: np.ndarray,
    *,
    rule: DecisionRule,
    cipher: TemplateCipher,
) -> MatchResult:
    """1:N: which of the listed citizens is the probe, if any, safely?"""
    gallery = eligible_gallery(session, citizen_ids, cipher=cipher)
    return rule.identify(gallery, probe)


def with_templates(session: Session, citizen_id: int) -> Citizen:
    """The citizen with its templates loaded."""
    citizen = session.scalar(
        select(Citizen)
        .where(Citizen.id == citizen_id)
        .options(selectinload(Citizen.templates))
    )
    if citizen is None:
        raise CitizenNotFound()
    return citizen
