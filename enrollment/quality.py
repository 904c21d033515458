"""Enrolment quality: what the photo of a face measures, and what it must reach.

Measured on the one face of an enrolment photo, from dlib's 68 landmarks and
the pixels of the face box:

- ``eye_distance_px``: distance between the eye centres, in pixels of the
  decoded image (ISO/IEC 19794-5 asks at least 60 for a full-frontal token
  image; ICAO recommends 90 or more);
- ``roll_deg``: tilt of the line through the eyes, in degrees;
- ``yaw_ratio``: how far the head is turned, from the nose tip's offset between
  the two jaw edges: 0 faces the camera, +-1 is a full profile;
- ``eye_openness``: the smaller eye aspect ratio (eye height over width) of the
  two eyes; about 0.3 for open eyes, under 0.1 for closed ones;
- ``sharpness``: variance of the Laplacian of the face crop scaled to 160 px;
- ``brightness``: mean grey level of the face crop, 0 to 255.

ICAO portrait rules ask for a frontal pose within about 5 degrees, open eyes,
even lighting and a sharp image; ISO/IEC 29794-5 defines such measures as
quality components. The thresholds here (see `QualityPolicy`) are looser:
they refuse what would spoil a template, and the limits were measured on the
open photos so as not to refuse a usable face. Eye openness is measured by a
ratio that runs lower for many East Asian eyes, so its limit is set well below
the smallest open-eye value seen in that group (0.11).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import numpy.typing as npt

from biometrics.encoder import Box, Point
from biometrics.errors import FaceError
from biometrics.imaging import RGBImage

CROP_SIDE_PX = 160
"""The face crop is scaled to this side before sharpness and brightness."""


class PoorQuality(FaceError):
    """The enrolment photo is usable as an image but not as a template."""

    status_code = 422


class FaceTooSmall(PoorQuality):
    """The eyes are too few pixels apart."""

    code = "face_too_small"
    default_message = "The face is too small in the picture. Move closer to the camera."


class FaceTurned(PoorQuality):
    """The head is turned away from the camera."""

    code = "face_turned"
    default_message = "The head is turned. Face the camera directly."


class FaceTilted(PoorQuality):
    """The head is tilted sideways."""

    code = "face_tilted"
    default_message = "The head is tilted. Hold your head straight."


class EyesClosed(PoorQuality):
    """The eyes look closed."""

    code = "eyes_closed"
    default_message = "The eyes look closed. Keep your eyes open and retry."


class TooDark(PoorQuality):
    """The face is underexposed."""

    code = "too_dark"
    default_message = "The face is too dark. Move to more light and retry."


class TooBright(PoorQuality):
    """The face is overexposed."""

    code = "too_bright"
    default_message = "The face is too bright. Avoid direct light or a bright window."


class TooBlurred(PoorQuality):
    """The face is out of focus or moved."""

    code = "too_blurred"
    default_message = "The photo is blurred. Hold still and retry."


@dataclass(frozen=True)
class QualityPolicy:
    """The limits an enrolment photo must reach (meanings in the module docstring)."""

    min_eye_distance_px: float = 40.0
    max_roll_deg: float = 20.0
    max_yaw_ratio: float = 0.4
    min_eye_openness: float = 0.08
    min_sharpness: float = 15.0
    min_brightness: float = 50.0
    max_brightness: float = 215.0


@dataclass(frozen=True)
class QualityMeasures:
    """What was measured on the enrolled face, and one overall score."""

    eye_distance_px: float
    roll_deg: float
    yaw_ratio: float
    eye_openness: float
    sharpness: float
    brightness: float
    score: float
    """Overall quality, 0 (at the limits) to 1 (a studio portrait)."""

    def as_dict(self) -> dict[str, float]:
        """The measures as plain numbers, rounded for storage."""
        return {name: round(value, 3) for name, value in asdict(self).items()}


def measure(
    image: RGBImage, box: Box, landmarks: dict[str, list[Point]], policy: QualityPolicy
) -> QualityMeasures:
    """Measure the face in `box` (see the module docstring for each measure)."""
    left_eye = np.mean(landmarks["left_eye"], axis=0)
    right_eye = np.mean(landmarks["right_eye"], axis=0)
    eye_line = right_eye - left_eye
    crop = _grey_crop(image, box)

    eye_distance = float(np.hypot(*eye_line))
    roll = float(np.degrees(np.arctan2(eye_line[1], eye_line[0])))
    yaw = _yaw_ratio(landmarks)
    openness = min(
        _eye_aspect(landmarks["left_eye"]), _eye_aspect(landmarks["right_eye"])
    )
    sharpness = float(cv2.Laplacian(crop, cv2.CV_64F).var())
    brightness = float(crop.mean())

    score = float(
        np.mean(
            [
                min(1.0, eye_distance / 90.0),
                1.0 - min(1.0, abs(roll) / policy.max_roll_deg),
                1.0 - min(1.0, abs(yaw) / policy.max_yaw_ratio),
                min(1.0, sharpness / 300.0),
                1.0 - min(1.0, abs(brightness - 128.0) / 128.0),
            ]
        )
    )
    return QualityMeasures(
        eye_distance, roll, yaw, openness, sharpness, brightness, score
    )


def check(measures: QualityMeasures, policy: QualityPolicy) -> None:
    """Raise the `PoorQuality` error of the first limit the photo misses."""
    if measures.eye_distance_px < policy.min_eye_distance_px:
        raise FaceTooSmall()
    if abs(measures.yaw_ratio) > policy.max_yaw_ratio:
        raise FaceTurned()
    if abs(measures.roll_deg) > policy.max_roll_deg:
        raise FaceTilted()
    if measures.eye_openness < policy.min_eye_openness:
        raise EyesClosed()
    if measures.brightness < policy.min_brightness:
        raise TooDark()
    if measures.brightness > policy.max_brightness:
        raise TooBright()
    if measures.sharpness < policy.min_sharpness:
        raise TooBlurred()


def _grey_crop(image: RGBImage, box: Box) -> npt.NDArray[np.uint8]:
    top, right, bottom, left = box
    face = np.ascontiguousarray(image[top:bottom, left:right])
    grey = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    resized = cv2.resize(grey, (CROP_SIDE_PX, CROP_SIDE_PX))
    return np.asarray(resized, dtype=np.uint8)


def _yaw_ratio(landmarks: dict[str, list[Point]]) -> float:
    """(left - right) / (left + right) of the nose tip's distance to the jaw edges."""
    chin = np.asarray(landmarks["chin"], dtype=float)
    nose = np.mean(landmarks["nose_tip"], axis=0)
    to_left = float(np.hypot(*(nose - chin[0])))
    to_right = float(np.hypot(*(nose - chin[-1])))
    return (to_left - to_right) / max(to_left + to_right, 1e-6)


def _eye_aspect(eye: list[Point]) -> float:
    """Eye height over width from its six landmarks."""
    points = np.asarray(eye, dtype=float)
    height = np.hypot(*(points[1] - points[5])) + np.hypot(*(points[2] - points[4]))
    width = np.hypot(*(points[0] - points[3]))
    return float(height / max(2.0 * width, 1e-6))
