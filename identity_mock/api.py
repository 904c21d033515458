"""HTTP API of the identity mock (``/identity/v1``). Thin: logic is in `service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response

from biometrics import MatchResult
from gatesim.deps import ImageUpload, RuntimeDep, SessionDep, read_upload
from gatesim.inputs import Id
from gatesim.security import require_admin
from identity_mock import consent, service
from identity_mock.models import (
    Citizen,
    EnrolmentReview,
    FaceTemplate,
    TemplateSource,
)
from identity_mock.schemas import (
    MAX_CANDIDATES,
    CitizenIdList,
    CitizenIn,
    CitizenOut,
    ConsentIn,
    MatchOut,
    ReviewOut,
    TemplateOut,
    mask_national_id,
    parse_citizen_ids,
)

router = APIRouter(
    prefix="/identity/v1",
    tags=["identity"],
    dependencies=[Depends(require_admin)],
)
"""Every identity route needs the admin key once keys are required."""


@router.post("/citizens", status_code=201)
def register_citizen(body: CitizenIn, session: SessionDep) -> CitizenOut:
    """Register a citizen (409 if the ID number is taken)."""
    citizen = service.register_citizen(session, service.NewCitizen(**body.model_dump()))
    return _citizen_out(citizen, template_count=0)


@router.get("/citizens/{citizen_id}")
def read_citizen(citizen_id: Id, session: SessionDep) -> CitizenOut:
    """One citizen, with the number of enrolled templates."""
    citizen = service.with_templates(session, citizen_id)
    return _citizen_out(citizen, template_count=len(citizen.templates))


@router.post("/citizens/{citizen_id}/consent")
def record_consent(citizen_id: Id, body: ConsentIn, session: SessionDep) -> CitizenOut:
    """Grant or withdraw consent; a withdrawal deletes every face at once."""
    consent.set_consent(session, citizen_id, consent=body.biometric_consent)
    citizen = service.with_templates(session, citizen_id)
    return _citizen_out(citizen, template_count=len(citizen.templates))


@router.get("/citizens/{citizen_id}/faces")
def list_faces(citizen_id: Id, session: SessionDep) -> list[TemplateOut]:
    """The citizen's templates (metadata only: the encoding never leaves)."""
    citizen = service.with_templates(session, citizen_id)
    return [_template_out(template) for template in citizen.templates]


@router.delete("/citizens/{citizen_id}/faces")
def delete_faces(citizen_id: Id, session: SessionDep) -> CitizenOut:
    """Delete the citizen's faces, held enrolments and airports' copies."""
    consent.erase_faces(session, service.get_citizen(session, citizen_id))
    citizen = service.with_templates(session, citizen_id)
    return _citizen_out(citizen, template_count=len(citizen.templates))


@router.post(
    "/citizens/{citizen_id}/faces",
    status_code=201,
    responses={202: {"model": ReviewOut, "description": "Held for review."}},
)
def enrol_face(
    citizen_id: Id,
    image: ImageUpload,
    runtime: RuntimeDep,
    session: SessionDep,
    response: Response,
    source: Annotated[TemplateSource, Form()] = TemplateSource.COUNTER_CAPTURE,
) -> TemplateOut | ReviewOut:
    """Enrol a face (201), or hold it for review (202) if another citizen has it.

    A refused photo (4xx) leaves nothing behind.
    """
    outcome = service.enrol_face(
        session,
        citizen_id,
        read_upload(image),
        encoder=runtime.encoder,
        limits=runtime.gate.limits,
        policy=runtime.quality,
        duplicate_threshold=runtime.gate.rule.match_threshold,
        cipher=runtime.cipher,
        source=source,
    )
    if isinstance(outcome, EnrolmentReview):
        response.status_code = 202
        return ReviewOut(review_id=outcome.id, citizen_id=outcome.citizen_id)
    return _template_out(outcome)


@router.post("/citizens/{citizen_id}/verify")
def verify_citizen(
    citizen_id: Id, image: ImageUpload, runtime: RuntimeDep, session: SessionDep
) -> MatchOut:
    """1:1: does the face in the image belong to this citizen?"""
    probe = service.probe_encoding(
        read_upload(image), encoder=runtime.encoder, limits=runtime.gate.limits
    )
    result = service.verify(
        session, citizen_id, probe, rule=runtime.gate.rule, cipher=runtime.cipher
    )
    return _match_out(result)


@router.post("/identify")
def identify(
    image: ImageUpload,
    citizen_ids: Annotated[
        CitizenIdList,
        Form(description=f"Comma-separated citizen ids, at most {MAX_CANDIDATES}."),
    ],
    runtime: RuntimeDep,
    session: SessionDep,
) -> MatchOut:
    """1:N: which of the listed citizens is in the image, if any?"""
    ids = parse_citizen_ids(citizen_ids)
    probe = service.probe_encoding(
        read_upload(image), encoder=runtime.encoder, limits=runtime.gate.limits
    )
    result = service.identify(
        session, ids, probe, rule=runtime.gate.rule, cipher=runtime.cipher
    )
    return _match_out(result)


def _citizen_out(citizen: Citizen, *, template_count: int) -> CitizenOut:
    return CitizenOut(
        id=citizen.id,
        national_id_masked=mask_national_id(citizen.national_id),
        full_name=citizen.full_name,
        date_of_birth=citizen.date_of_birth,
        account_level=citizen.account_level,
        biometric_consent=citizen.biometric_consent,
        airport_eligible=citizen.airport_eligible,
        template_count=template_count,
    )


def _template_out(template: FaceTemplate) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        citizen_id=template.citizen_id,
        source=TemplateSource(template.source),
        quality=template.quality,
        face_width_px=template.face_width_px,
        quality_measures=template.quality_measures,
        model_name=template.model_name,
        model_version=template.model_version,
        created_at=template.created_at,
    )


def _match_out(result: MatchResult) -> MatchOut:
    return MatchOut(
        outcome=result.outcome.value,
        citizen_id=int(result.subject_id) if result.subject_id else None,
        distance=result.distance,
        runner_up_distance=result.runner_up_distance,
        threshold=result.threshold,
    )
