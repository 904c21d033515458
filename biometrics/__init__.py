"""The face pipeline shared by enrolment, the identity mock and the gates.

- `decode_image`: any uploaded image bytes to an upright RGB array.
- `FaceEncoder`: detection and 128-d encoding with face_recognition (dlib).
- `Gallery`: the vectorised comparison core (euclidean distance, lower is closer).
- `LiveGallery`: lock-free reads of a gallery that changes (snapshot swap).
- `time_limit`: a per-request deadline that waits and stages respect.
- `DecisionRule`: match, no match or ambiguous, with a calibrated threshold and margin.
"""

from biometrics.deadline import TimeLimitExceeded, check_time, time_limit
from biometrics.decision import DecisionRule, MatchOutcome, MatchResult
from biometrics.encoder import (
    MODEL_NAME,
    MODEL_VERSION,
    EncoderSettings,
    FaceEncoder,
    FaceFound,
)
from biometrics.errors import (
    DomainError,
    FaceError,
    ImageEmpty,
    ImageTooLarge,
    ImageTruncated,
    ImageUnreadable,
    ImageUnsupported,
    NoFaceFound,
    SeveralFacesFound,
)
from biometrics.imaging import ImageLimits, decode_image
from biometrics.live import LiveGallery
from biometrics.matching import Candidate, Gallery

__all__ = [
    "MODEL_NAME",
    "MODEL_VERSION",
    "Candidate",
    "DecisionRule",
    "DomainError",
    "EncoderSettings",
    "FaceEncoder",
    "FaceError",
    "FaceFound",
    "Gallery",
    "ImageEmpty",
    "ImageLimits",
    "ImageTooLarge",
    "ImageTruncated",
    "ImageUnreadable",
    "ImageUnsupported",
    "LiveGallery",
    "MatchOutcome",
    "MatchResult",
    "NoFaceFound",
    "SeveralFacesFound",
    "TimeLimitExceeded",
    "check_time",
    "decode_image",
    "time_limit",
]
