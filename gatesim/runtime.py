"""Everything a process needs at run time, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from biometrics import FaceEncoder, matching
from biometrics.encoder_process import FaceEncoderProcess
from enrollment import QualityPolicy
from gate_service.galleries import TodaysGallery, local_day_start
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


def server_encoder(settings: Settings) -> FaceEncoder:
    """The encoder a server process uses: in a child process unless disabled."""
    if settings.encoder_process:
        return FaceEncoderProcess(settings.encoder_settings())
    return FaceEncoder(settings.encoder_settings())


def warm_up(runtime: Runtime) -> None:
    """Load and exercise everything the first passenger would otherwise wait for.

    The face models run once on a blank frame, the comparison kernels compile
    (or load from their disk cache), and today's gallery is built from the
    database, which also proves the database answers.
    """
    runtime.encoder.warm_up()
    matching.warm_up()
    gate = runtime.gate
    with runtime.sessions() as session:
        day_start = local_day_start(gate.now, gate.zone_offset)
        gate.galleries.current(session, day_start)


def database_answers(runtime: Runtime) -> bool:
    """Whether the database answers a trivial query right now."""
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
