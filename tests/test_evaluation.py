"""Evaluation and calibration on a small folder of real photos, per group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biometrics import DecisionRule, FaceEncoder
from gatesim.calibration import calibrate
from gatesim.cli import main
from gatesim.evaluation import EncodedSet, encode_folder, open_set, verification

pytestmark = pytest.mark.slow

CAST = {"p06": 3, "p09": 3, "p23": 3, "p25": 2, "p29": 1, "p30": 1}
GROUPS = {"p06": "other", "p09": "other"} | dict.fromkeys(
    ["p23", "p25", "p29", "p30"], "east_asian"
)


@pytest.fixture(scope="module")
def folder(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A manifest folder with a group column, linking to the real photos."""
    root = tmp_path_factory.mktemp("photos")
    rows = ["path,person,group"]
    for person, count in CAST.items():
        for number in range(1, count + 1):
            source = faces / "people" / person / f"{number}.jpg"
            link = root / f"{person}_{number}.jpg"
            link.symlink_to(source)
            rows.append(f"{link.name},{person},{GROUPS[person]}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def encoded(folder: Path, encoder: FaceEncoder) -> EncodedSet:
    """The folder's encodings, computed once."""
    return encode_folder(folder, encoder)


def test_verification_reports_each_group_apart(encoded: EncodedSet) -> None:
    report = verification(encoded, threshold=0.38)

    assert set(report) == {"all", "east_asian", "other"}
    assert report["east_asian"]["impostor_min"] < 0.5
    assert report["other"]["impostor_min"] > report["east_asian"]["impostor_min"]
    assert report["all"]["false_matches_at_threshold"] == 0


def test_open_set_at_the_gate_rule_accepts_no_wrong_person(
    encoded: EncodedSet,
) -> None:
    report = open_set(encoded, DecisionRule(0.38, 0.03))

    assert report["all"]["wrong_person_accepts"] == 0
    assert report["all"]["fpir"] == 0.0
    assert report["east_asian"]["non_mated_searches"] >= 2
    assert 0.0 <= report["all"]["fnir"] <= 1.0


def test_usual_face_recognition_threshold_confuses_east_asian_people(
    encoded: EncodedSet,
) -> None:
    report = open_set(encoded, DecisionRule(0.59, 0.0))

    assert report["east_asian"]["wrong_person_accepts"] > 0


def test_calibration_is_set_by_the_hardest_group(encoded: EncodedSet) -> None:
    result = calibrate(encoded, target_fmr=1e-3)

    assert result.threshold == min(result.group_thresholds.values())
    assert result.threshold < 0.5
    assert "east_asian" in result.extrapolated
    assert result.wrong_person_accepts == 0


def test_evaluate_command_writes_figures_and_det_curve(
    folder: Path, tmp_path: Path
) -> None:
    figures, det = tmp_path / "eval.json", tmp_path / "det.png"

    exit_code = main(
        ["evaluate", str(folder), "--json", str(figures), "--det", str(det)]
    )
    report = json.loads(figures.read_text())

    assert exit_code == 0
    assert report["wrong_person_accepts"] == 0
    assert {"fnir", "fpir"} <= set(report)
    assert {"fnir", "fpir", "wrong_person_accepts"} <= set(
        report["groups"]["east_asian"]
    )
    assert det.stat().st_size > 1000
