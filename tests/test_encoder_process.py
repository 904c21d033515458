"""The face encoder in a child process: same answers, errors, and restarts."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from biometrics import FaceEncoder, NoFaceFound, decode_image
from biometrics.encoder_process import EncoderRestarted, FaceEncoderProcess
from gatesim.settings import Settings

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]


@pytest.fixture(scope="module")
def child_encoder() -> Iterator[FaceEncoderProcess]:
    """One encoder process for the module's tests."""
    encoder = FaceEncoderProcess()
    yield encoder
    encoder.close()


def test_child_process_encodes_as_the_encoder_in_this_process(
    child_encoder: FaceEncoderProcess, encoder: FaceEncoder, photo: Photo
) -> None:
    image = decode_image(photo("people/p06/1.jpg"), Settings().image_limits())

    here = encoder.encode_one(image)
    there = child_encoder.encode_one(image)

    assert there.box == here.box
    assert np.allclose(there.encoding, here.encoding, atol=1e-6)
    assert there.encoding.dtype == np.float32


def test_child_process_raises_the_same_domain_errors(
    child_encoder: FaceEncoderProcess, photo: Photo
) -> None:
    blank = decode_image(photo("scenes/no_face_white.png"), Settings().image_limits())

    with pytest.raises(NoFaceFound) as refused:
        child_encoder.encode_one(blank)

    assert refused.value.code == "no_face"


def test_a_child_that_dies_is_answered_503_then_replaced(
    child_encoder: FaceEncoderProcess, photo: Photo
) -> None:
    image = decode_image(photo("people/p06/1.jpg"), Settings().image_limits())
    child_encoder.warm_up()
    for pid in child_encoder.child_pids:
        os.kill(pid, signal.SIGKILL)

    with pytest.raises(EncoderRestarted) as restarted:
        child_encoder.encode_one(image)
    again = child_encoder.encode_one(image)

    assert restarted.value.status_code == 503
    assert again.encoding.shape == (128,)
