"""Settings, read once from the environment (prefix ``GATESIM_``) and validated.

A value out of its range stops the service at start-up, not at the first
passenger. Every threshold states its meaning and unit here, where it is defined.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from biometrics import DecisionRule, EncoderSettings, ImageLimits
from enrollment.quality import QualityPolicy
from gate_service.retention_periods import RetentionPeriods


class Settings(BaseSettings):
    """Everything an operator can set; see README "Settings"."""

    model_config = SettingsConfigDict(
        env_prefix="GATESIM_", frozen=True, hide_input_in_errors=True
    )

    database_url: str = "sqlite:///gatesim.db"
    """SQLAlchemy URL: SQLite by default, PostgreSQL for a shared store."""
    airport_code: str = Field("SGN", pattern=r"^[A-Z]{3}$")
    """IATA code of the airport these touchpoints stand in."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """Local time zone that decides which flights depart 'today'."""

    match_threshold: float = Field(0.38, gt=0.0, lt=0.6)
    """Largest euclidean distance accepted as the same person (lower is stricter)."""
    match_margin: float = Field(0.03, ge=0.0, lt=0.3)
    """Least gap between the best and the next other subject; closer is referred."""

    detector: Literal["hog", "cnn"] = "hog"
    """Face detector: HOG (fast on CPU) or dlib's CNN (slower, finds harder faces)."""
    detect_side_px: int = Field(800, ge=160, le=4000)
    """Long side of the copy scanned for faces, in pixels."""
    detect_upsample: int = Field(1, ge=0, le=3)
    """Detector upsampling passes; each finds faces half as small, 4x slower."""
    dominant_face_ratio: float = Field(1.6, ge=1.0, le=10.0)
    """A face this many times wider than any other is the subject; else refused."""
    min_eye_distance_px: float = Field(40.0, ge=10.0, le=1000.0)
    """Enrolment: least distance between the eye centres, in pixels."""
    max_roll_deg: float = Field(20.0, gt=0.0, le=90.0)
    """Enrolment: most sideways tilt of the eye line, in degrees."""
    max_yaw_ratio: float = Field(0.4, gt=0.0, le=1.0)
    """Enrolment: most head turn (0 frontal, 1 full profile)."""
    min_eye_openness: float = Field(0.08, ge=0.0, le=0.5)
    """Enrolment: least eye aspect ratio (height / width) of either eye."""
    min_sharpness: float = Field(15.0, ge=0.0)
    """Enrolment: least Laplacian variance of the face crop at 160 px."""
    min_brightness: float = Field(50.0, ge=0.0, le=255.0)
    """Enrolment: least mean grey level of the face (0-255)."""
    max_brightness: float = Field(215.0, ge=0.0, le=255.0)
    """Enrolment: most mean grey level of the face (0-255)."""

    encoder_process: bool = True
    """Server: run dlib in one child process per worker, so its encoding (which
    holds Python's GIL) never stalls the event loop."""
    request_time_limit_s: float = Field(15.0, gt=0.0, le=600.0)
    """Most seconds a request may take to arrive and start its last stage; a
    request still queued for the face models then gets 503 ``busy``."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    """Server workers' log level (INFO logs one line per gate decision)."""

    malloc_arenas: int = Field(2, ge=0, le=64)
    """glibc malloc arenas per server process (0 leaves glibc's default); see
    `gatesim.memory`."""

    max_image_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    """Largest upload accepted, in bytes; larger bodies are refused unread."""
    max_image_pixels: int = Field(60_000_000, ge=10_000)
    """Largest image accepted, in pixels (width x height)."""
    max_side_px: int = Field(1600, ge=320, le=8000)
    """Long side, in pixels, that decoded images are scaled down to."""

    environment: Literal["development", "production"] = "development"
    """`production` requires API keys and refuses unsafe defaults at start-up."""
    template_key: SecretStr | None = None
    """Base64 of the 32-byte AES-256-GCM key that seals face templates at rest."""
    template_key_file: Path | None = None
    """Development only, without `template_key`: where the generated key is kept
    (default: next to the SQLite file, as ``<database>.key``, mode 0600)."""
    require_api_keys: bool = False
    """Refuse requests without an API key (always on in production)."""
    admin_api_key: SecretStr | None = None
    """Key of the admin API (device keys, enrolment, flights); 32+ characters."""
    gate_copy_grace_hours: float = Field(2.0, ge=0.0, le=72.0)
    """Hours after a flight's departure before the gate's template copies go."""
    decision_retention_days: int = Field(90, ge=1, le=3650)
    """Days a decision record is kept for audit."""
    enrolment_retention_days: int = Field(1825, ge=1, le=36500)
    """Days an enrolled face template is kept before the citizen must re-enrol."""
    review_retention_days: int = Field(30, ge=1, le=3650)
    """Days an enrolment held for review keeps its encoding."""
    purge_interval_s: float = Field(600.0, ge=1.0, le=86400.0)
    """Seconds between two runs of the purge in each server process."""

    @field_validator("template_key")
    @classmethod
    def _key_is_32_bytes(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            decode_template_key(key)
        return key

    @field_validator("admin_api_key")
    @classmethod
    def _admin_key_is_long(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_ADMIN_KEY_LENGTH} characters")
        return key

    @model_validator(mode="after")
    def _safe_for_environment(self) -> Self:
        if self.api_keys_required and self.admin_api_key is None:
            raise ValueError("API keys are required: set GATESIM_ADMIN_API_KEY")
        if self.environment == "production" and self.template_key is None:
            raise ValueError("production needs GATESIM_TEMPLATE_KEY (base64, 32 bytes)")
        return self

    @property
    def api_keys_required(self) -> bool:
        """Whether every route but the page and health needs an API key."""
        return self.require_api_keys or self.environment == "production"

    def retention(self) -> RetentionPeriods:
        """How long biometric data and decision records are kept."""
        return RetentionPeriods(
            gate_copy_grace=timedelta(hours=self.gate_copy_grace_hours),
            decisions=timedelta(days=self.decision_retention_days),
            templates=timedelta(days=self.enrolment_retention_days),
            reviews=timedelta(days=self.review_retention_days),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The airport's time zone."""
        return ZoneInfo(self.timezone)

    def quality_policy(self) -> QualityPolicy:
        """The limits an enrolment photo must reach."""
        return QualityPolicy(
            min_eye_distance_px=self.min_eye_distance_px,
            max_roll_deg=self.max_roll_deg,
            max_yaw_ratio=self.max_yaw_ratio,
            min_eye_openness=self.min_eye_openness,
            min_sharpness=self.min_sharpness,
            min_brightness=self.min_brightness,
            max_brightness=self.max_brightness,
        )

    def decision_rule(self) -> DecisionRule:
        """The match decision rule these settings define."""
        return DecisionRule(self.match_threshold, self.match_margin)

    def encoder_settings(self) -> EncoderSettings:
        """How faces are detected and encoded."""
        return EncoderSettings(
            detector=self.detector,
            detect_side_px=self.detect_side_px,
            upsample=self.detect_upsample,
            dominant_face_ratio=self.dominant_face_ratio,
        )

    def image_limits(self) -> ImageLimits:
        """What an accepted image may weigh."""
        return ImageLimits(
            self.max_image_bytes, self.max_image_pixels, self.max_side_px
        )


MIN_ADMIN_KEY_LENGTH = 32
TEMPLATE_KEY_BYTES = 32
"""AES-256: the template key is 32 bytes, given in base64."""


def decode_template_key(key: SecretStr) -> bytes:
    """The raw bytes of a base64 template key; ValueError if it is not 32 bytes."""
    try:
        raw = base64.b64decode(key.get_secret_value(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("must be base64") from error
    if len(raw) != TEMPLATE_KEY_BYTES:
        raise ValueError(f"must decode to {TEMPLATE_KEY_BYTES} bytes")
    return raw


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
