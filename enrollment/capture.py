"""From a photo or camera frame to an enrolment template, with quality checks."""

from __future__ import annotations

from dataclasses import dataclass

from biometrics import FaceEncoder, decode_image
from biometrics.encoder import Encoding
from biometrics.imaging import ImageLimits
from enrollment.quality import QualityMeasures, QualityPolicy, check, measure


@dataclass(frozen=True)
class EnrolmentCapture:
    """A template ready to store, with the measures it was accepted on."""

    encoding: Encoding
    face_width_px: int
    measures: QualityMeasures


def capture_template(
    image_bytes: bytes,
    encoder: FaceEncoder,
    *,
    limits: ImageLimits,
    policy: QualityPolicy,
) -> EnrolmentCapture:
    """Decode, find the one face, measure and check its quality, and encode it."""
    image = decode_image(image_bytes, limits)
    face = encoder.encode_one(image)

    measures = measure(image, face.box, encoder.landmarks(image, face.box), policy)
    check(measures, policy)
    return EnrolmentCapture(face.encoding, face.width_px, measures)
