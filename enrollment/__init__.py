"""Enrolment: turn a photo or camera frame into a face template, with quality checks."""

from enrollment.capture import EnrolmentCapture, capture_template
from enrollment.quality import PoorQuality, QualityMeasures, QualityPolicy

__all__ = [
    "EnrolmentCapture",
    "PoorQuality",
    "QualityMeasures",
    "QualityPolicy",
    "capture_template",
]
