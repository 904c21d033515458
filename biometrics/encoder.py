"""Face detection and encoding with face_recognition (dlib), loaded once, used safely.

Boxes are ``(top, right, bottom, left)`` in pixels of the decoded image, as in
face_recognition. An encoding is dlib's 128-d face descriptor stored as
``float32`` with shape ``(128,)``; two encodings of the same person are close in
euclidean distance (lower is closer).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile

from biometrics.deadline import TimeLimitExceeded, remaining_s
from biometrics.errors import NoFaceFound, SeveralFacesFound
from biometrics.imaging import RGBImage
from biometrics.turns import Turns

Encoding = npt.NDArray[np.float32]
"""One face template: shape ``(128,)``, dtype ``float32``."""

Box = tuple[int, int, int, int]
"""A face box ``(top, right, bottom, left)`` in pixels."""

Point = tuple[int, int]
"""A landmark ``(x, y)`` in pixels of the decoded image."""

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
MODEL_VERSION = "face_recognition 1.3.0 / face_recognition_models 0.3.0"

# face_recognition keeps its dlib models in module globals: one lock guards them
# for every encoder in the process, so no model object runs on two threads at
# once. Waiting requests get the models in order of arrival.
_DLIB_LOCK = Turns()


@dataclass(frozen=True)
class EncoderSettings:
    """How faces are found and encoded."""

    detector: Literal["hog", "cnn"] = "hog"
    detect_side_px: int = 800
    """Long side of the copy the detector scans, in pixels (larger: smaller faces)."""
    upsample: int = 1
    """Extra detector upsampling passes; each finds faces half as small, 4x slower."""
    jitters: int = 1
    """Re-samplings averaged per encoding (1 is face_recognition's default)."""
    dominant_face_ratio: float = 1.6
    """A face this many times wider than every other one is taken as the subject."""


@dataclass(frozen=True)
class FaceFound:
    """One detected face: where it is and its encoding."""

    box: Box
    encoding: Encoding

    @property
    def width_px(self) -> int:
        """Width of the face box, in pixels."""
        return self.box[1] - self.box[3]


class FaceEncoder:
    """Finds and encodes faces; create one per process, at start-up."""

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        self.settings = settings or EncoderSettings()
        self._api = _load_face_recognition()
        self._warm = False

    def close(self) -> None:
        """Release what the encoder holds (nothing in this process)."""

    def detect(self, image: RGBImage) -> list[Box]:
        """Return the boxes of all faces, largest first."""
        scale, scanned = _shrink(image, self.settings.detect_side_px)
        with _models():
            boxes = self._api.face_locations(
                scanned,
                number_of_times_to_upsample=self.settings.upsample,
                model=self.settings.detector,
            )
        full_boxes = [_scale_box(box, 1.0 / scale, image.shape) for box in boxes]
        return sorted(full_boxes, key=lambda box: box[3] - box[1])

    def encode(self, image: RGBImage, box: Box) -> Encoding:
        """Return the encoding of the face inside `box`."""
        with _models():
            encodings = self._api.face_encodings(
                image, known_face_locations=[box], num_jitters=self.settings.jitters
            )
        return np.asarray(encodings[0], dtype=np.float32)

    def landmarks(self, image: RGBImage, box: Box) -> dict[str, list[Point]]:
        """The 68 landmarks of the face in `box`, by feature (``left_eye``, ...)."""
        with _models():
            found = self._api.face_landmarks(image, face_locations=[box], model="large")
        return {
            name: [tuple(point) for point in points]
            for name, points in found[0].items()
        }

    def encode_all(self, image: RGBImage) -> list[FaceFound]:
        """Return every face in the image with its encoding, largest first."""
        return [FaceFound(box, self.encode(image, box)) for box in self.detect(image)]

    def warm_up(self) -> None:
        """Run detection, landmarks and encoding once, so the first passenger
        does not pay for first-use costs (page faults in the models, buffers)."""
        if self._warm:
            return
        blank = np.full((480, 640, 3), 128, dtype=np.uint8)
        box = (140, 400, 340, 240)
        self.detect(blank)
        self.landmarks(blank, box)
        self.encode(blank, box)
        self._warm = True

    def encode_one(self, image: RGBImage) -> FaceFound:
        """Return the one subject face, or raise `NoFaceFound` / `SeveralFacesFound`.

        Background faces are tolerated when the subject's face is clearly the
        largest (see `EncoderSettings.dominant_face_ratio`).
        """
        boxes = self.detect(image)
        if not boxes:
            raise NoFaceFound()
        if len(boxes) > 1 and not _is_dominant(boxes, self.settings):
            raise SeveralFacesFound()
        return FaceFound(boxes[0], self.encode(image, boxes[0]))


def _models() -> AbstractContextManager[None]:
    """Hold the dlib models, waiting no longer than the request's time left."""
    return hold_within_time_limit(_DLIB_LOCK)


@contextmanager
def hold_within_time_limit(lock: Turns) -> Iterator[None]:
    """Hold `lock`, waiting no longer than the request's time left."""
    wait_s = remaining_s()
    if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
        raise TimeLimitExceeded()
    try:
        yield
    finally:
        lock.release()


def _load_face_recognition() -> Any:
    """Import face_recognition (loading its models); undo its Pillow side effect."""
    import face_recognition

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return face_recognition


def _shrink(image: RGBImage, side_px: int) -> tuple[float, RGBImage]:
    height, width = image.shape[:2]
    long_side = max(height, width)
    if long_side <= side_px:
        return 1.0, image
    scale = side_px / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)
    return scale, np.ascontiguousarray(np.asarray(small))


def _scale_box(box: Box, factor: float, shape: tuple[int, ...]) -> Box:
    top, right, bottom, left = (round(value * factor) for value in box)
    height, width = shape[:2]
    return max(top, 0), min(right, width), min(bottom, height), max(left, 0)


def _is_dominant(boxes: list[Box], settings: EncoderSettings) -> bool:
    first, second = (box[1] - box[3] for box in boxes[:2])
    return first >= settings.dominant_face_ratio * second
