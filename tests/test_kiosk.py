"""The kiosk in a real browser: Debian's Chromium, a fake camera fed a real photo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image, ImageOps
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from biometrics import FaceEncoder
from gatesim.app import create_app
from gatesim.runtime import build_runtime
from gatesim.settings import Settings
from kiosk_ui.boarding_pass import mask_name
from tests.conftest import serving

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[1] / "artifacts" / "kiosk"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
]


def write_y4m(photo: Path, target: Path) -> Path:
    """A one-frame 640x480 Y4M video of the photo, for Chromium's fake camera."""
    with Image.open(photo) as image:
        frame = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), (640, 480))
    yuv = cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2YUV_I420)
    header = b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n"
    target.write_bytes(header + b"FRAME\n" + yuv.tobytes())
    return target


@pytest.fixture(scope="module")
def kiosk_url(
    faces: Path, tmp_path_factory: pytest.TempPathFactory, encoder: FaceEncoder
) -> Iterator[str]:
    """A real server on loopback with one enrolled, booked passenger (p06)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("kiosk")
    settings = Settings(database_url=f"sqlite:///{folder / 'kiosk.db'}")
    app = create_app(settings, build_runtime(settings, encoder))
    with serving(app) as base:
        _seed(base, settings, faces / "people" / "p06" / "1.jpg")
        yield f"{base}/kiosk?countdown=1"


def _seed(base: str, settings: Settings, portrait: Path) -> None:
    with httpx.Client(base_url=base, timeout=30) as api:
        citizen = api.post(
            "/identity/v1/citizens",
            json={
                "national_id": "079200000001",
                "full_name": "Nguyễn Văn An",
                "date_of_birth": "1990-04-30",
            },
        ).json()
        files = {"image": ("p.jpg", portrait.read_bytes(), "image/jpeg")}
        api.post(f"/identity/v1/citizens/{citizen['id']}/faces", files=files)
        flight = api.post(
            "/gate/v1/flights",
            json={
                "code": "VN213",
                "origin": settings.airport_code,
                "destination": "HAN",
                "departure_at": datetime.now(settings.zone).isoformat(),
                "gate": "12",
            },
        ).json()
        api.post(
            "/gate/v1/bookings",
            json={"citizen_id": citizen["id"], "flight_id": flight["id"]},
        )


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver (no browser download: Debian's Chromium is used)."""
    with sync_playwright() as driver:
        yield driver


def _browser(playwright: Playwright, *flags: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_FLAGS, *flags]
    )


def _camera_browser(playwright: Playwright, video: Path) -> Browser:
    return _browser(
        playwright,
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )


def _snap(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _walk_to_camera(page: Page, url: str, name: str) -> None:
    page.goto(url)
    _snap(page, f"{name}-1-welcome")
    page.click("#start")
    _snap(page, f"{name}-2-consent")
    page.click("#agree")
    page.wait_for_selector("#camera.active", timeout=10_000)
    _snap(page, f"{name}-3-camera")


def test_enrolled_passenger_gets_a_boarding_pass_with_a_readable_qr_code(
    playwright: Playwright, kiosk_url: str, faces: Path, tmp_path: Path
) -> None:
    video = write_y4m(faces / "people" / "p06" / "2.jpg", tmp_path / "p06.y4m")
    browser = _camera_browser(playwright, video)
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    _walk_to_camera(page, kiosk_url + "&lang=en", "enrolled")
    page.wait_for_selector("#pass.active", timeout=30_000)
    _snap(page, "enrolled-4-boarding-pass")
    qr_png = tmp_path / "qr.png"
    page.locator("#bp-qr").screenshot(path=str(qr_png))
    qr_image = cv2.imread(str(qr_png))
    assert qr_image is not None
    payload, _, _ = cv2.QRCodeDetector().detectAndDecode(qr_image)
    browser.close()

    assert payload.startswith("GATESIM-BP|")
    assert "|VN213|" in payload


def test_boarding_pass_masks_the_name_and_shows_flight_seat_and_gate(
    playwright: Playwright, kiosk_url: str, faces: Path, tmp_path: Path
) -> None:
    video = write_y4m(faces / "people" / "p06" / "2.jpg", tmp_path / "p06.y4m")
    browser = _camera_browser(playwright, video)
    page = browser.new_page(viewport={"width": 800, "height": 1280})

    _walk_to_camera(page, kiosk_url, "portrait")
    page.wait_for_selector("#pass.active", timeout=30_000)
    _snap(page, "portrait-4-boarding-pass")
    name = page.inner_text("#bp-name")
    flight, gate = page.inner_text("#bp-flight"), page.inner_text("#bp-gate")
    seat = page.inner_text("#bp-seat")
    browser.close()

    assert name == "Nguyễn V** A*"
    assert flight.startswith("VN213")
    assert gate == "12"
    assert seat


def test_unenrolled_face_is_referred_to_the_counter_with_the_reason(
    playwright: Playwright, kiosk_url: str, faces: Path, tmp_path: Path
) -> None:
    video = write_y4m(faces / "people" / "p26" / "1.jpg", tmp_path / "p26.y4m")
    browser = _camera_browser(playwright, video)
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    _walk_to_camera(page, kiosk_url + "&lang=en", "unenrolled")
    page.wait_for_selector("#refer.active", timeout=30_000)
    _snap(page, "unenrolled-4-referral")
    reason = page.get_attribute("#refer", "data-reason")
    text = page.inner_text("#refer-text")
    browser.close()

    assert reason in ("face_not_recognised", "retry")
    assert "counter" in text


def test_language_switches_at_every_step(
    playwright: Playwright, kiosk_url: str
) -> None:
    browser = _browser(playwright)
    page = browser.new_page()

    page.goto(kiosk_url)
    vietnamese = page.inner_text("#welcome h2")
    page.click("#lang")
    english = page.inner_text("#welcome h2")
    page.click("#start")
    consent_english = page.inner_text("#agree")
    page.click("#lang")
    consent_vietnamese = page.inner_text("#agree")
    _snap(page, "language-consent-vi")
    html_lang = page.get_attribute("html", "lang")
    browser.close()

    assert (vietnamese, english) == ("Xin chào!", "Welcome!")
    assert (consent_english, consent_vietnamese) == ("I agree", "Tôi đồng ý")
    assert html_lang == "vi"


def test_refused_camera_permission_is_explained_with_the_counter_as_way_out(
    playwright: Playwright, kiosk_url: str
) -> None:
    browser = _browser(playwright, "--deny-permission-prompts")
    page = browser.new_context(permissions=[]).new_page()

    page.goto(kiosk_url + "&lang=en")
    page.click("#start")
    page.click("#agree")
    page.wait_for_selector("#problem.active", timeout=10_000)
    _snap(page, "camera-refused")
    problem = page.inner_text("#problem")
    browser.close()

    assert "refused" in problem
    assert "counter" in problem


def test_kiosk_returns_to_welcome_by_itself_when_idle(
    playwright: Playwright, kiosk_url: str
) -> None:
    browser = _browser(playwright)
    page = browser.new_page()

    page.goto(kiosk_url + "&idle=1")
    page.click("#start")
    page.wait_for_selector("#welcome.active", timeout=5_000)
    screen = page.get_attribute("body", "data-screen")
    browser.close()

    assert screen == "welcome"


def test_masked_name_keeps_the_family_name_and_initials() -> None:
    assert mask_name("Nguyễn Thị Ánh") == "Nguyễn T** Á**"
    assert mask_name("Lê") == "Lê"
