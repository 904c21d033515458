"""Domain errors of the face pipeline, each with a stable code and an HTTP status.

The HTTP layer maps every `DomainError` to a JSON answer
``{"error": {"code": ..., "message": ...}}`` in one handler; the CLI prints the
message. Messages speak to the person holding the camera or the photo.
"""

from __future__ import annotations


class DomainError(Exception):
    """Root of every error the simulator raises on purpose, with code and status."""

    code = "error"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class FaceError(DomainError):
    """Root of every error the face pipeline raises on purpose."""

    code = "face_error"
    default_message = "The photo could not be used."


class ImageEmpty(FaceError):
    """The request carried no image bytes at all."""

    code = "image_empty"
    default_message = "The image is empty: send the photo file itself."


class ImageUnreadable(FaceError):
    """The bytes are not an image this service can decode."""

    code = "image_unreadable"
    default_message = (
        "The file is not a readable image. "
        "Send a JPEG, PNG, WebP, GIF, BMP or TIFF photo."
    )


class ImageTruncated(FaceError):
    """The image file is cut short or corrupt."""

    code = "image_truncated"
    default_message = (
        "The image file is incomplete or damaged. Take or upload the photo again."
    )


class ImageUnsupported(FaceError):
    """The bytes are a known image format that is not supported (e.g. HEIC)."""

    code = "image_unsupported_format"
    status_code = 415
    default_message = (
        "This image format is not supported. Save the photo as JPEG or PNG and retry."
    )


class ImageTooLarge(FaceError):
    """The image has more pixels, or more bytes, than the service accepts."""

    code = "image_too_large"
    status_code = 413
    default_message = "The image is too large. Send a smaller photo."


class NoFaceFound(FaceError):
    """No face was detected in the image."""

    code = "no_face"
    status_code = 422
    default_message = (
        "No face was found. Look straight at the camera, in good light, and retry."
    )


class SeveralFacesFound(FaceError):
    """More than one face is in the image where exactly one is needed."""

    code = "several_faces"
    status_code = 422
    default_message = (
        "More than one face is in the picture. Only the passenger should be in view."
    )
