"""Request and response bodies of the identity mock's HTTP API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from gatesim.inputs import ID_MAX, Printable
from identity_mock.models import TemplateSource

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
"""No living citizen was born before this day."""

MAX_CANDIDATES = 1000
"""The most citizen ids one identification may list (PostgreSQL takes at most
65,535 parameters in one query)."""

CITIZEN_ID = re.compile(r"[0-9]{1,10}")
"""A citizen id in a list: ASCII digits only (``"²".isdigit()`` is true)."""

NationalId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{12}$"), Printable
]
"""A national ID number: 12 ASCII digits (other scripts' digits are refused,
so that one person cannot register twice)."""

FullName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Printable,
]


def check_date_of_birth(born: date) -> date:
    """The date unchanged, or `ValueError` unless it is past and after 1900."""
    if not EARLIEST_BIRTH_DATE <= born < date.today():
        raise ValueError(
            f"must be a past date, on or after {EARLIEST_BIRTH_DATE.isoformat()}"
        )
    return born


def parse_citizen_ids(text: str) -> list[int]:
    """The ids in a comma-separated list, or `ValueError` saying what is wrong."""
    parts = text.split(",")
    if len(parts) > MAX_CANDIDATES:
        raise ValueError(
            f"lists {len(parts)} ids; give at most {MAX_CANDIDATES} at once"
        )
    return [_citizen_id(part.strip()) for part in parts]


def _citizen_id(part: str) -> int:
    if not CITIZEN_ID.fullmatch(part) or not 1 <= int(part) <= ID_MAX:
        raise ValueError(
            f"{part[:20]!r} is not a citizen id: give ids from 1 to {ID_MAX} "
            "in ASCII digits, separated by commas, e.g. 12,40,7"
        )
    return int(part)


def _check_citizen_ids(text: str) -> str:
    parse_citizen_ids(text)
    return text


CitizenIdList = Annotated[str, AfterValidator(_check_citizen_ids)]
"""Comma-separated citizen ids, 1 to `MAX_CANDIDATES` of them."""


class CitizenIn(BaseModel):
    """A citizen to register."""

    national_id: NationalId = Field(description="12-digit ID number.")
    full_name: FullName = Field(examples=["Nguyễn Văn An"])
    date_of_birth: Annotated[date, AfterValidator(check_date_of_birth)]
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
