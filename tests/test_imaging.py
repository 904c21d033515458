"""Tests of `decode_image`: any photo bytes in, upright 8-bit RGB array out.

Every image is built here, in memory, from the real photos; nothing is written
into the project. "Close" means a mean absolute difference, on the 0..255
scale, under `MAX_MEAN_ABS_DIFF` (a JPEG or WebP re-encoding alone costs ~1).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import GifImagePlugin, Image, ImageFile

from biometrics import (
    FaceEncoder,
    ImageEmpty,
    ImageLimits,
    ImageTooLarge,
    ImageTruncated,
    ImageUnreadable,
    ImageUnsupported,
    decode_image,
)

PORTRAIT = "people/p01/1.jpg"
RGBA_SCENE = "scenes/rgba_32bit.png"
PORTRAIT_SIDE_PX = 800
"""Long side of the test portrait: under the default limit, so never resized."""
MAX_MEAN_ABS_DIFF = 4.0

STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
"""How upright pixels are stored under each EXIF orientation that undoes it."""

EXIF_ORIENTATION_TAG = 0x0112
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 512
PILLOW_BOMB_SIDE_PX = 13_400
"""A square this wide is over twice Pillow's MAX_IMAGE_PIXELS (its bomb)."""

Pixels = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def portrait(photo: Callable[[str], bytes]) -> Image.Image:
    """A real upright portrait, RGB, long side `PORTRAIT_SIDE_PX`."""
    with Image.open(io.BytesIO(photo(PORTRAIT))) as image:
        upright = image.convert("RGB")
    upright.thumbnail((PORTRAIT_SIDE_PX, PORTRAIT_SIDE_PX))
    return upright


def _encode(image: Image.Image, image_format: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def _pixels(image: Image.Image) -> Pixels:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _mean_abs_diff(decoded: Pixels, expected: Pixels) -> float:
    """Mean absolute difference, `expected` resized to `decoded` if needed."""
    if decoded.shape != expected.shape:
        height, width = decoded.shape[:2]
        resized = Image.fromarray(expected).resize((width, height))
        expected = np.asarray(resized, dtype=np.uint8)
    difference = decoded.astype(np.int16) - expected.astype(np.int16)
    return float(np.abs(difference).mean())


def _assert_rgb_array(decoded: Pixels) -> None:
    assert decoded.dtype == np.uint8
    assert decoded.ndim == 3
    assert decoded.shape[2] == 3
    assert decoded.flags.c_contiguous


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_exif_orientation_is_applied_to_give_upright_pixels(
    portrait: Image.Image, orientation: int
) -> None:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = orientation
    stored = portrait.transpose(STORED_AS[orientation])
    data = _encode(stored, "JPEG", quality=95, exif=exif)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    assert decoded.shape == (portrait.height, portrait.width, 3)
    assert _mean_abs_diff(decoded, _pixels(portrait)) < MAX_MEAN_ABS_DIFF


def test_upright_jpeg_without_orientation_is_left_as_it_is(
    portrait: Image.Image,
) -> None:
    data = _encode(portrait, "JPEG", quality=95)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    assert decoded.shape == (portrait.height, portrait.width, 3)
    assert _mean_abs_diff(decoded, _pixels(portrait)) < MAX_MEAN_ABS_DIFF


def test_real_rgba_png_decodes_to_three_channels(
    photo: Callable[[str], bytes],
) -> None:
    data = photo(RGBA_SCENE)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    with Image.open(io.BytesIO(data)) as original:
        assert original.mode == "RGBA"
        expected = _pixels(original)
    assert decoded.shape == expected.shape
    assert _mean_abs_diff(decoded, expected) < 1.0


def test_transparent_pixels_of_an_rgba_png_are_laid_over_white(
    portrait: Image.Image,
) -> None:
    rgba = portrait.convert("RGBA")
    alpha = np.full((rgba.height, rgba.width), 255, dtype=np.uint8)
    half_width = rgba.width // 2
    alpha[:, :half_width] = 0
    rgba.putalpha(Image.fromarray(alpha))

    decoded = decode_image(_encode(rgba, "PNG"))

    _assert_rgb_array(decoded)
    assert decoded[:, :half_width].min() == 255
    opaque = _pixels(portrait)[:, half_width:]
    assert _mean_abs_diff(decoded[:, half_width:], opaque) < 0.5


def test_transparent_palette_entry_is_laid_over_white(
    portrait: Image.Image,
) -> None:
    palette_image = portrait.convert("P", palette=Image.Palette.ADAPTIVE)
    transparent_index = palette_image.getpixel((0, 0))
    assert isinstance(transparent_index, int)
    is_transparent = np.asarray(palette_image) == transparent_index
    data = _encode(palette_image, "PNG", transparency=transparent_index)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    assert decoded[is_transparent].min() == 255
    expected = _pixels(palette_image)
    assert np.array_equal(decoded[~is_transparent], expected[~is_transparent])


def test_grayscale_png_gives_three_equal_channels(
    portrait: Image.Image,
) -> None:
    grey = portrait.convert("L")

    decoded = decode_image(_encode(grey, "PNG"))

    _assert_rgb_array(decoded)
    grey_values = np.asarray(grey, dtype=np.uint8)
    for channel in range(3):
        assert np.array_equal(decoded[..., channel], grey_values)


def test_16_bit_grayscale_png_keeps_its_brightness(
    portrait: Image.Image,
) -> None:
    grey = portrait.convert("L")
    grey_16 = np.asarray(grey, dtype=np.uint16) * 257
    wide_image = Image.fromarray(grey_16)
    assert wide_image.mode == "I;16"
    data = _encode(wide_image, "PNG")

    decoded = decode_image(data)
    decoded_8_bit = decode_image(_encode(grey, "PNG"))

    _assert_rgb_array(decoded)
    assert decoded.mean() == pytest.approx(decoded_8_bit.mean(), abs=1.0)
    assert decoded.mean() < 200.0
    assert _mean_abs_diff(decoded, decoded_8_bit) < 1.0


def test_dark_16_bit_grayscale_png_stays_dark(portrait: Image.Image) -> None:
    # Values 0..255 out of 65535: under 0.4 % of full brightness.
    dark_16 = np.asarray(portrait.convert("L"), dtype=np.uint16)
    data = _encode(Image.fromarray(dark_16), "PNG")

    decoded = decode_image(data)

    assert decoded.max() <= 1


def test_cmyk_jpeg_is_converted_to_rgb(portrait: Image.Image) -> None:
    data = _encode(portrait.convert("CMYK"), "JPEG", quality=95)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    assert decoded.shape == (portrait.height, portrait.width, 3)
    assert _mean_abs_diff(decoded, _pixels(portrait)) < MAX_MEAN_ABS_DIFF


def test_webp_is_decoded(portrait: Image.Image) -> None:
    data = _encode(portrait, "WEBP", quality=90)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    assert decoded.shape == (portrait.height, portrait.width, 3)
    assert _mean_abs_diff(decoded, _pixels(portrait)) < MAX_MEAN_ABS_DIFF


def test_animated_gif_gives_its_first_frame(portrait: Image.Image) -> None:
    first_frame = portrait.resize((200, 270))
    red_frame = Image.new("RGB", first_frame.size, (255, 0, 0))
    frames = {"save_all": True, "append_images": [red_frame], "duration": 100}
    data = _encode(first_frame, "GIF", **frames)
    with Image.open(io.BytesIO(data)) as gif:
        assert isinstance(gif, GifImagePlugin.GifImageFile)
        assert gif.n_frames == 2
        expected = _pixels(gif)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    assert decoded.shape == (270, 200, 3)
    assert _mean_abs_diff(decoded, expected) < 0.5


def test_large_jpeg_is_reduced_to_the_maximum_side(
    portrait: Image.Image,
) -> None:
    limits = ImageLimits()
    data = _encode(portrait.resize((7000, 5000)), "JPEG", quality=85)

    decoded = decode_image(data)

    _assert_rgb_array(decoded)
    height, width = decoded.shape[:2]
    assert max(height, width) == limits.max_side_px
    assert width / height == pytest.approx(7000 / 5000, rel=0.01)


def test_photo_is_reduced_to_a_custom_maximum_side(
    portrait: Image.Image,
) -> None:
    limits = ImageLimits(max_side_px=300)
    data = _encode(portrait, "PNG")

    decoded = decode_image(data, limits)

    _assert_rgb_array(decoded)
    assert max(decoded.shape[:2]) == 300
    assert _mean_abs_diff(decoded, _pixels(portrait)) < MAX_MEAN_ABS_DIFF


def test_empty_bytes_are_refused_as_empty() -> None:
    with pytest.raises(ImageEmpty) as refusal:
        decode_image(b"")

    assert refusal.value.code == "image_empty"


def test_text_uploaded_as_a_jpeg_is_refused_as_unreadable() -> None:
    # The file name and content type are ignored: only the bytes are read.
    text_bytes = b"boarding pass for flight XY123\n" * 20

    with pytest.raises(ImageUnreadable) as refusal:
        decode_image(text_bytes)

    assert refusal.value.code == "image_unreadable"


def test_pdf_is_refused_as_unreadable() -> None:
    pdf_bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n" * 10

    with pytest.raises(ImageUnreadable) as refusal:
        decode_image(pdf_bytes)

    assert refusal.value.code == "image_unreadable"
    assert "PDF" in refusal.value.message


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_truncated_image_is_refused_as_truncated(
    portrait: Image.Image, image_format: str
) -> None:
    data = _encode(portrait, image_format)

    with pytest.raises(ImageTruncated) as refusal:
        decode_image(data[: len(data) // 2])

    assert refusal.value.code == "image_truncated"


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_truncated_image_is_refused_when_pillow_accepts_truncation(
    portrait: Image.Image, image_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _encode(portrait, image_format)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(ImageTruncated):
        decode_image(data[: len(data) // 2])


@pytest.mark.slow
@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_truncated_image_is_refused_after_an_encoder_is_created(
    portrait: Image.Image, image_format: str, encoder: FaceEncoder
) -> None:
    import face_recognition  # noqa: F401  (its import flips the Pillow flag)

    data = _encode(portrait, image_format)

    with pytest.raises(ImageTruncated):
        decode_image(data[: len(data) // 2])


def test_heic_is_refused_as_unsupported() -> None:
    with pytest.raises(ImageUnsupported) as refusal:
        decode_image(HEIC_HEADER)

    assert refusal.value.code == "image_unsupported_format"
    assert refusal.value.status_code == 415


def test_image_over_the_pixel_limit_is_refused_as_too_large() -> None:
    data = _encode(Image.new("1", (10_000, 10_000)), "PNG")
    assert len(data) < ImageLimits().max_bytes

    with pytest.raises(ImageTooLarge) as refusal:
        decode_image(data)

    assert refusal.value.code == "image_too_large"
    assert refusal.value.status_code == 413


def test_decompression_bomb_is_refused_as_too_large() -> None:
    side_px = PILLOW_BOMB_SIDE_PX
    data = _encode(Image.new("1", (side_px, side_px)), "PNG")
    limits = ImageLimits(max_pixels=side_px * side_px)

    with pytest.raises(ImageTooLarge):
        decode_image(data, limits)


def test_custom_pixel_limit_refuses_a_normal_photo(
    portrait: Image.Image,
) -> None:
    data = _encode(portrait, "JPEG")
    limits = ImageLimits(max_pixels=10_000)

    with pytest.raises(ImageTooLarge):
        decode_image(data, limits)


def test_bytes_over_the_byte_limit_are_refused_as_too_large(
    portrait: Image.Image,
) -> None:
    data = _encode(portrait, "JPEG")
    limits = ImageLimits(max_bytes=len(data) - 1)

    with pytest.raises(ImageTooLarge) as refusal:
        decode_image(data, limits)

    assert refusal.value.code == "image_too_large"


def test_bytes_exactly_at_the_byte_limit_are_accepted(
    portrait: Image.Image,
) -> None:
    data = _encode(portrait, "JPEG")
    limits = ImageLimits(max_bytes=len(data))

    decoded = decode_image(data, limits)

    _assert_rgb_array(decoded)


def test_byte_limit_message_does_not_state_zero_megabytes(
    portrait: Image.Image,
) -> None:
    data = _encode(portrait, "JPEG")
    limits = ImageLimits(max_bytes=len(data) // 2)

    with pytest.raises(ImageTooLarge) as refusal:
        decode_image(data, limits)

    assert "0 MB" not in refusal.value.message


@pytest.mark.parametrize("brand", [b"heim", b"avis", b"isom"])
def test_any_iso_media_file_is_an_unsupported_format(brand: bytes) -> None:
    data = b"\x00\x00\x00\x18ftyp" + brand + b"\x00" * 64

    with pytest.raises(ImageUnsupported):
        decode_image(data)
