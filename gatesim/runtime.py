"""Everything a process needs at run time, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from biometrics import FaceEncoder
from enrollment import QualityPolicy
from gate_service.galleries import TodaysGallery
from gate_service.touchpoints import GateContext
from gatesim.crypto import TemplateCipher, check_template_key, load_cipher
from gatesim.db import create_schema, make_engine, session_factory
from gatesim.settings import Settings


@dataclass(frozen=True)
class Runtime:
    """The database, the face encoder and the rules, shared by every request."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    encoder: FaceEncoder
    gate: GateContext
    quality: QualityPolicy
    cipher: TemplateCipher
    """Seals and opens face templates (`gatesim.crypto`)."""


def build_runtime(settings: Settings, encoder: FaceEncoder | None = None) -> Runtime:
    """Open the database (creating tables) and load the face models."""
    engine = make_engine(settings.database_url)
    create_schema(engine)
    sessions = session_factory(engine)
    cipher = load_cipher(settings)
    check_template_key(sessions, cipher)
    encoder = encoder or FaceEncoder(settings.encoder_settings())
    zone = settings.zone

    gate = GateContext(
        sessions=sessions,
        encoder=encoder,
        rule=settings.decision_rule(),
        limits=settings.image_limits(),
        airport_code=settings.airport_code,
        now=lambda: datetime.now(UTC),
        zone_offset=lambda moment: moment.astimezone(zone),
        galleries=TodaysGallery(settings.airport_code, cipher),
    )
    quality = settings.quality_policy()
    return Runtime(settings, engine, sessions, encoder, gate, quality, cipher)
