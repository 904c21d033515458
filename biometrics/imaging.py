"""One decode path for every image: bytes in, upright 8-bit RGB array out.

Every entry point (gate camera, enrolment, CLI, kiosk) calls `decode_image`, so a
phone photo, a PNG with alpha or a 16-bit scan gives the same pixels everywhere.
The returned array has shape ``(height, width, 3)``, dtype ``uint8``, RGB channel
order, C-contiguous, with the EXIF orientation already applied and the long side
at most ``ImageLimits.max_side_px``.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from biometrics.errors import (
    ImageEmpty,
    ImageTooLarge,
    ImageTruncated,
    ImageUnreadable,
    ImageUnsupported,
)

RGBImage = npt.NDArray[np.uint8]
"""An upright RGB image, shape ``(height, width, 3)``, dtype ``uint8``."""

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
"""Formats recognised from the bytes; the file name and content type are ignored."""

_HEIF_BRANDS = (
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
    b"mif1", b"msf1", b"avif", b"avis",
)  # fmt: skip
_PDF_MAGIC = b"%PDF"
_WHITE = (255, 255, 255, 255)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


@dataclass(frozen=True)
class ImageLimits:
    """What an accepted image may weigh, in bytes and in pixels."""

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 60_000_000
    max_side_px: int = 1600


def decode_image(data: bytes, limits: ImageLimits | None = None) -> RGBImage:
    """Decode image bytes to an upright RGB array, or raise a `FaceError`."""
    limits = limits or ImageLimits()
    _check_bytes(data, limits)
    Image.init()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                _check_pixels(image, limits)
                _decode_reduced(image, limits.max_side_px)
                upright = ImageOps.exif_transpose(image)
                rgb = _to_rgb(upright)
    except UnidentifiedImageError as error:
        raise ImageUnreadable() from error
    except Image.DecompressionBombError as error:
        raise ImageTooLarge() from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageTruncated() from error

    return _to_array(_fit(rgb, limits.max_side_px))


def _check_bytes(data: bytes, limits: ImageLimits) -> None:
    if not data:
        raise ImageEmpty()
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"The file is larger than {human_size(limits.max_bytes)}. "
            "Send a smaller photo."
        )
    if data[4:8] == b"ftyp":  # ISO media file: HEIC, HEIF, AVIF, or a video
        kind = "HEIC/HEIF/AVIF photos" if data[8:12] in _HEIF_BRANDS else "Videos"
        raise ImageUnsupported(
            f"{kind} are not supported. "
            "Set the camera to 'Most compatible' (JPEG) or convert the photo."
        )
    if data.startswith(_PDF_MAGIC):
        raise ImageUnreadable(
            "The file is a PDF, not a photo. Send a JPEG or PNG photo."
        )


def _check_pixels(image: Image.Image, limits: ImageLimits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        megapixels = limits.max_pixels // 1_000_000
        raise ImageTooLarge(
            f"The image has {width}x{height} pixels, more than "
            f"{megapixels} megapixels. Send a smaller photo."
        )
    if width == 0 or height == 0:
        raise ImageUnreadable("The image has no pixels.")


def _decode_reduced(image: Image.Image, max_side_px: int) -> None:
    """Load the pixels; a large JPEG is decoded at 1/2, 1/4 or 1/8 scale directly."""
    long_side = max(image.size)
    if image.format in ("JPEG", "MPO") and long_side > 2 * max_side_px:
        scale = max_side_px / long_side
        wanted = (int(image.size[0] * scale) + 1, int(image.size[1] * scale) + 1)
        image.draft("RGB", wanted)
    # Importing face_recognition makes Pillow accept truncated files process-wide;
    # a cut-off upload must be refused, so the flag is forced off for this load.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    image.load()


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode to 8-bit RGB; transparency is laid over white."""
    if image.mode in SIXTEEN_BIT_MODES:
        return Image.fromarray(_wide_to_8bit(image, 65535.0)).convert("RGB")
    if image.mode in ("I", "F"):
        return Image.fromarray(_wide_to_8bit(image, None)).convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La")
    if has_alpha or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE)
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _wide_to_8bit(
    image: Image.Image, full_scale: float | None
) -> npt.NDArray[np.uint8]:
    """Scale a 16-bit, 32-bit integer or float grey image to 0..255.

    Without a known full scale (modes I and F), values over 255 are taken as
    16-bit and the rest as already 8-bit.
    """
    values = np.asarray(image, dtype=np.float64)
    if full_scale is None:
        full_scale = 65535.0 if values.max(initial=0.0) > 255.0 else 255.0
    scaled = np.clip(values * (255.0 / full_scale), 0.0, 255.0)
    return np.rint(scaled).astype(np.uint8)


def _fit(image: Image.Image, max_side_px: int) -> Image.Image:
    long_side = max(image.size)
    if long_side <= max_side_px:
        return image
    scale = max_side_px / long_side
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _to_array(image: Image.Image) -> RGBImage:
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def human_size(size_bytes: int) -> str:
    """A byte count for people: ``25 MB``, ``512 KB`` or ``900 bytes``."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size_bytes >= factor:
            return f"{size_bytes / factor:.3g} {unit}"
    return f"{size_bytes} bytes"
