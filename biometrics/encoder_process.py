"""A face encoder that runs dlib in a child process, off the server's GIL.

dlib's detection releases Python's GIL, but its landmark and descriptor
calls do not: each face encoding holds it for about 70 ms here, and every
other thread of the process, the server's event loop included, waits. A
server process therefore hands the face work to one child process of its
own. The child holds the models and the parent only waits on a pipe, so
`/health` and every request that needs no face answer at once.

The child runs one call at a time, as a `FaceEncoder` in a process must. A
caller waits for its turn no longer than its request's time limit. If the
child dies (dlib crashes on some input), the call is answered with
`EncoderRestarted` and a new child is started for the next one.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from biometrics.encoder import (
    Box,
    EncoderSettings,
    Encoding,
    FaceEncoder,
    FaceFound,
    Point,
    hold_within_time_limit,
)
from biometrics.errors import DomainError
from biometrics.imaging import RGBImage
from biometrics.turns import Turns

logger = logging.getLogger(__name__)

_child_encoder: FaceEncoder | None = None
"""In the child process: the one encoder that serves every call."""


class EncoderRestarted(DomainError):
    """The face encoder process stopped during the request; a new one starts."""

    code = "encoder_restarted"
    status_code = 503
    default_message = (
        "The face matcher had to restart. Present the photo again in a moment."
    )


class FaceEncoderProcess(FaceEncoder):
    """The `FaceEncoder` interface, served by a child process (see module)."""

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        self.settings = settings or EncoderSettings()
        self._turn = Turns()
        self._pool = self._start()

    def detect(self, image: RGBImage) -> list[Box]:
        """Return the boxes of all faces, largest first."""
        boxes: list[Box] = self._call("detect", image)
        return boxes

    def encode(self, image: RGBImage, box: Box) -> Encoding:
        """Return the encoding of the face inside `box`."""
        encoding: Encoding = self._call("encode", image, box)
        return encoding

    def landmarks(self, image: RGBImage, box: Box) -> dict[str, list[Point]]:
        """The 68 landmarks of the face in `box`, by feature."""
        points: dict[str, list[Point]] = self._call("landmarks", image, box)
        return points

    def encode_all(self, image: RGBImage) -> list[FaceFound]:
        """Return every face in the image with its encoding, largest first."""
        faces: list[FaceFound] = self._call("encode_all", image)
        return faces

    def encode_one(self, image: RGBImage) -> FaceFound:
        """Return the one subject face, or raise `NoFaceFound` / `SeveralFacesFound`."""
        face: FaceFound = self._call("encode_one", image)
        return face

    def warm_up(self) -> None:
        """Load the models in the child and run them once."""
        self._call("warm_up")

    @property
    def child_pids(self) -> list[int]:
        """Process ids of the running child (empty before its first call)."""
        return list(self._pool._processes or {})

    def close(self) -> None:
        """Stop the child process."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _call(self, method: str, *arguments: Any) -> Any:
        with hold_within_time_limit(self._turn):
            try:
                pending: Future[Any] = self._pool.submit(_serve, method, *arguments)
                return pending.result()
            except BrokenProcessPool as error:
                logger.error("face encoder process stopped; starting a new one")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()
                raise EncoderRestarted() from error

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(self.settings,),
        )


def _load(settings: EncoderSettings) -> None:
    """In the child: load the models once."""
    global _child_encoder
    _child_encoder = FaceEncoder(settings)


def _serve(method: str, *arguments: Any) -> Any:
    """In the child: run one encoder method."""
    assert _child_encoder is not None
    return getattr(_child_encoder, method)(*arguments)
