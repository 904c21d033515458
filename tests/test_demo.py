"""The main job: the demo airport day on the real photos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biometrics import FaceEncoder
from gatesim.cli import main
from gatesim.demo import run_demo
from gatesim.photos import load_photos
from gatesim.settings import Settings

pytestmark = pytest.mark.slow

REQUIRED_KEYS = {
    "passengers",
    "boarded",
    "referred",
    "impostor_attempts",
    "impostors_stopped",
    "wrong_person_accepts",
    "decisions",
}


def test_demo_on_all_photos_accepts_nobody_as_someone_else(
    faces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "demo.json"

    exit_code = main(["demo", str(faces), "--json", str(report_path)])
    report = json.loads(report_path.read_text())

    assert exit_code == 0
    assert set(report) >= REQUIRED_KEYS
    assert report["passengers"] == 25
    assert report["wrong_person_accepts"] == 0
    assert report["impostor_attempts"] > 0
    assert report["impostors_stopped"] == report["impostor_attempts"]
    assert report["boarded"] >= 1
    assert "wrong_person_accepts" in capsys.readouterr().out


def test_demo_reads_one_sub_folder_per_person(
    faces: Path, tmp_path: Path, encoder: FaceEncoder
) -> None:
    for person, count in [("p06", 3), ("p09", 3), ("p26", 1)]:
        folder = tmp_path / "photos" / person
        folder.mkdir(parents=True)
        for number in range(1, count + 1):
            source = faces / "people" / person / f"{number}.jpg"
            (folder / source.name).symlink_to(source)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")

    report = run_demo(tmp_path / "photos", settings, encoder=encoder, echo=False)
    summary = report.summary()

    assert summary["passengers"] == 2
    assert summary["impostor_attempts"] == 3
    assert summary["wrong_person_accepts"] == 0


def test_photo_folder_skips_scenes_and_keeps_manifest_order(faces: Path) -> None:
    photos = load_photos(faces)

    assert len(photos) == 30
    assert photos["p01"][0].path.name == "1.jpg"
    assert all(person.startswith("p") for person in photos)
