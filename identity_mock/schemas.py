"""Request and response bodies of the identity mock's HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from identity_mock.models import TemplateSource


class CitizenIn(BaseModel):
    """A citizen to register."""

    national_id: str = Field(pattern=r"^\d{12}$", description="12-digit ID number.")
    full_name: str = Field(min_length=1, max_length=200, examples=["Nguyễn Văn An"])
    date_of_birth: date
    account_level: Literal[1, 2] = 2
    biometric_consent: bool = True


class ConsentIn(BaseModel):
    """A citizen's answer on the use of their face at airports."""

    biometric_consent: bool


class CitizenOut(BaseModel):
    """A citizen as the API shows it: the ID number is masked."""

    id: int
    national_id_masked: str
    full_name: str
    date_of_birth: date
    account_level: int
    biometric_consent: bool
    airport_eligible: bool
    template_count: int


class TemplateOut(BaseModel):
    """An enrolled face template (its encoding is never returned)."""

    id: int
    citizen_id: int
    source: TemplateSource
    quality: float
    face_width_px: int
    quality_measures: dict[str, float] = Field(
        description="eye_distance_px, roll_deg, yaw_ratio, eye_openness, "
        "sharpness, brightness, score (see README, Enrolment quality)."
    )
    model_name: str
    model_version: str
    created_at: datetime


class ReviewOut(BaseModel):
    """An enrolment held for staff review: the face is another citizen's."""

    review_id: int
    citizen_id: int
    status: Literal["held_for_review"] = "held_for_review"
    message: str = (
        "This face is already enrolled under another citizen. "
        "It was not enrolled; staff will review the two identities."
    )


class MatchOut(BaseModel):
    """The result of a 1:1 verification or 1:N identification."""

    outcome: Literal["match", "no_match", "ambiguous"]
    citizen_id: int | None
    distance: float | None
    runner_up_distance: float | None
    threshold: float


def mask_national_id(national_id: str) -> str:
    """Keep the first 3 and last 2 digits: ``079*******23``."""
    return national_id[:3] + "*" * (len(national_id) - 5) + national_id[-2:]
