"""From a photo or camera frame to an enrolment template, with quality checks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from biometrics import FaceEncoder, FaceTooSmall, decode_image
from biometrics.encoder import Box, Encoding
from biometrics.imaging import ImageLimits, RGBImage

SHARPNESS_FULL_SCORE = 300.0
"""Variance of the Laplacian of the face crop at which sharpness scores 1.0."""


@dataclass(frozen=True)
class QualityPolicy:
    """What an enrolment photo must reach."""

    min_face_width_px: int = 60
    """Smallest face box width, in pixels of the decoded image."""


@dataclass(frozen=True)
class EnrolmentCapture:
    """A template ready to store, with the measures it was accepted on."""

    encoding: Encoding
    face_width_px: int
    sharpness: float
    """Variance of the Laplacian of the grey face crop (higher is sharper)."""
    quality: float
    """Overall quality, 0 (unusable) to 1 (ideal)."""


def capture_template(
    image_bytes: bytes,
    encoder: FaceEncoder,
    *,
    limits: ImageLimits,
    policy: QualityPolicy,
) -> EnrolmentCapture:
    """Decode, find the one face, check its quality and encode it."""
    image = decode_image(image_bytes, limits)
    face = encoder.encode_one(image)

    if face.width_px < policy.min_face_width_px:
        raise FaceTooSmall()
    sharpness = _sharpness(image, face.box)
    quality = _quality(face.width_px, sharpness, policy)
    return EnrolmentCapture(face.encoding, face.width_px, sharpness, quality)


def _sharpness(image: RGBImage, box: Box) -> float:
    top, right, bottom, left = box
    crop = image[top:bottom, left:right]
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _quality(face_width_px: int, sharpness: float, policy: QualityPolicy) -> float:
    size_score = min(1.0, face_width_px / (3 * policy.min_face_width_px))
    sharp_score = min(1.0, sharpness / SHARPNESS_FULL_SCORE)
    return round(size_score * 0.5 + sharp_score * 0.5, 3)
