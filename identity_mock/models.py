"""Tables of the national identity mock: citizens and their face templates."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gatesim.db import Base


class TemplateSource(StrEnum):
    """Where an enrolled face came from."""

    CHIP_PHOTO = "chip_photo"
    COUNTER_CAPTURE = "counter_capture"
    APP_SELFIE = "app_selfie"


class Citizen(Base):
    """A person known to the identity service."""

    __tablename__ = "citizens"
    __table_args__ = (CheckConstraint("account_level IN (1, 2)", name="account_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    national_id: Mapped[str] = mapped_column(String(12), unique=True)
    """The 12-digit personal identification number (never logged or put in a URL)."""
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    account_level: Mapped[int]
    """Identity-account level: 1 (basic) or 2 (verified; needed at airports)."""
    biometric_consent: Mapped[bool] = mapped_column(default=False)
    """Consent to the use of the face at airport touchpoints."""
    created_at: Mapped[datetime]

    templates: Mapped[list[FaceTemplate]] = relationship(
        back_populates="citizen", cascade="all, delete-orphan"
    )

    @property
    def airport_eligible(self) -> bool:
        """Level 2 and consenting: the only citizens matched at touchpoints."""
        return self.account_level == 2 and self.biometric_consent


class FaceTemplate(Base):
    """One enrolled face encoding of a citizen."""

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    encoding_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    """The encoding sealed with the template key (`gatesim.crypto`), never clear."""
    source: Mapped[str] = mapped_column(String(20))
    quality: Mapped[float]
    """Overall enrolment quality, 0 (unusable) to 1 (ideal)."""
    face_width_px: Mapped[int]
    quality_measures: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """What `enrollment.quality.measure` found on the enrolled face."""
    model_name: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]

    citizen: Mapped[Citizen] = relationship(back_populates="templates")


class EnrolmentReview(Base):
    """An enrolment held back: the face is already enrolled under another citizen.

    The encoding waits here, not among the templates, until staff decide; no
    gate ever matches against it.
    """

    __tablename__ = "enrolment_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    matching_citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE")
    )
    distance: Mapped[float]
    encoding_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    """The held encoding, sealed like a template's."""
    source: Mapped[str] = mapped_column(String(20))
    quality_measures: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime]


class BulkEnrolment(Base):
    """One photo of a bulk enrolment and its outcome, so a rerun resumes."""

    __tablename__ = "bulk_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_key: Mapped[str] = mapped_column(String(500), unique=True)
    """The photo's path inside the enrolled folder."""
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL")
    )
    outcome: Mapped[str] = mapped_column(String(12))
    """``enrolled``, ``held`` (for review) or ``refused``."""
    code: Mapped[str | None] = mapped_column(String(40))
    """The error code of a refused photo."""
    created_at: Mapped[datetime]
