"""Enrolment: turn a photo or camera frame into a face template, with quality checks."""

from enrollment.capture import EnrolmentCapture, QualityPolicy, capture_template

__all__ = ["EnrolmentCapture", "QualityPolicy", "capture_template"]
