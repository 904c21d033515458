"""Consent withdrawn while a photo is being enrolled leaves no face behind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from biometrics import FaceEncoder, FaceFound
from biometrics.imaging import RGBImage
from gatesim.crypto import TemplateCipher
from gatesim.db import transaction
from gatesim.settings import Settings
from identity_mock.consent import set_consent
from identity_mock.errors import ConsentRequired
from identity_mock.models import FaceTemplate
from identity_mock.service import NewCitizen, enrol_face, register_citizen

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

Photo = Callable[[str], bytes]
WAIT_S = 30.0


class EncoderThatWaits(FaceEncoder):
    """Encodes as the real encoder, after saying it started and being let go."""

    def __init__(self, encoder: FaceEncoder) -> None:
        self.settings = encoder.settings
        self._encoder = encoder
        self.encoding = threading.Event()
        self.go_on = threading.Event()

    def encode_one(self, image: RGBImage) -> FaceFound:
        """Signal, wait, then encode."""
        self.encoding.set()
        assert self.go_on.wait(WAIT_S)
        return self._encoder.encode_one(image)

    def landmarks(
        self, image: RGBImage, box: tuple[int, int, int, int]
    ) -> dict[str, list[tuple[int, int]]]:
        """The real encoder's landmarks."""
        return self._encoder.landmarks(image, box)


def test_consent_withdrawn_during_enrolment_refuses_it_and_stores_nothing(
    sessions: sessionmaker[Session], encoder: FaceEncoder, photo: Photo
) -> None:
    settings = Settings()
    cipher = TemplateCipher.generate()
    with transaction(sessions) as session:
        citizen = NewCitizen("079090005555", "Võ Thị Sáu", date(1991, 5, 3))
        citizen_id = register_citizen(session, citizen).id
    waiting = EncoderThatWaits(encoder)
    outcome: list[BaseException | None] = []

    def enrol() -> None:
        try:
            with transaction(sessions) as session:
                enrol_face(
                    session,
                    citizen_id,
                    photo("people/p06/1.jpg"),
                    encoder=waiting,
                    limits=settings.image_limits(),
                    policy=settings.quality_policy(),
                    duplicate_threshold=settings.match_threshold,
                    cipher=cipher,
                )
            outcome.append(None)
        except Exception as error:  # checked below
            outcome.append(error)

    enrolling = threading.Thread(target=enrol)
    enrolling.start()
    assert waiting.encoding.wait(WAIT_S)
    with transaction(sessions) as session:
        set_consent(session, citizen_id, consent=False)
    waiting.go_on.set()
    enrolling.join(WAIT_S)

    with sessions() as session:
        stored = session.scalar(
            select(func.count()).where(FaceTemplate.citizen_id == citizen_id)
        )
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConsentRequired)
    assert stored == 0
