"""Tests of `DecisionRule`: match only under the threshold and clear of others.

Synthetic candidate lists pin the edges; real photos (through the encoder)
check the calibrated default on people the threshold is meant to separate.
Measured with this encoder: p01/2 to p01/5 (same person) is ~0.27 apart,
p29/1 to p23/1 (two East Asian people) ~0.42, both far from the 0.38 default.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from biometrics import (
    Candidate,
    DecisionRule,
    FaceEncoder,
    Gallery,
    MatchOutcome,
    decode_image,
)

ENCODING_SIZE = 128
TOLERANCE = 1e-5

ENROLMENT_PHOTOS = {
    "p01": "people/p01/2.jpg",
    "p02": "people/p02/1.jpg",
    "p23": "people/p23/1.jpg",
}
"""One enrolment photo per subject of the real gallery."""
SAME_PERSON_PROBE = "people/p01/5.jpg"
UNENROLLED_PROBE = "people/p29/1.jpg"
"""An East Asian person never enrolled; nearest enrolled subject is p23."""

Encodings = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def real_encodings(
    photo: Callable[[str], bytes], encoder: FaceEncoder
) -> dict[str, Encodings]:
    """Encodings of the photos used here, by path (encoded once per module)."""
    paths = [*ENROLMENT_PHOTOS.values(), SAME_PERSON_PROBE, UNENROLLED_PROBE]
    encodings: dict[str, Encodings] = {}
    for path in paths:
        face = encoder.encode_one(decode_image(photo(path)))
        encodings[path] = face.encoding
    return encodings


@pytest.fixture(scope="module")
def real_gallery(real_encodings: dict[str, Encodings]) -> Gallery:
    """The three enrolled subjects, one template each."""
    templates = [real_encodings[path] for path in ENROLMENT_PHOTOS.values()]
    return Gallery.build(list(ENROLMENT_PHOTOS), np.stack(templates))


def _candidates(*nearest_first: tuple[str, float]) -> list[Candidate]:
    return [Candidate(subject, distance) for subject, distance in nearest_first]


def _synthetic_gallery(
    distances: dict[str, float],
) -> tuple[Gallery, Encodings]:
    """One template per subject, each at its given distance from a probe."""
    rng = np.random.default_rng(7)
    probe = rng.normal(0.0, 0.09, ENCODING_SIZE).astype(np.float32)
    templates = np.tile(probe, (len(distances), 1))
    for row, distance in enumerate(distances.values()):
        templates[row, row] += distance
    return Gallery.build(list(distances), templates), probe


def test_default_rule_is_the_calibrated_threshold_and_margin() -> None:
    rule = DecisionRule()

    assert rule.match_threshold == pytest.approx(0.38)
    assert rule.margin == pytest.approx(0.03)


def test_empty_gallery_is_no_match_without_distance() -> None:
    result = DecisionRule().judge([])

    assert result.outcome is MatchOutcome.NO_MATCH
    assert result.subject_id is None
    assert result.distance is None
    assert result.runner_up_distance is None
    assert result.threshold == pytest.approx(0.38)


def test_nearest_subject_beyond_the_threshold_is_no_match() -> None:
    candidates = _candidates(("a", 0.45), ("b", 0.70))

    result = DecisionRule().judge(candidates)

    assert result.outcome is MatchOutcome.NO_MATCH
    assert result.subject_id == "a"
    assert result.distance == pytest.approx(0.45)


def test_nearest_under_the_threshold_and_clear_of_others_matches() -> None:
    candidates = _candidates(("a", 0.25), ("b", 0.50))

    result = DecisionRule().judge(candidates)

    assert result.outcome is MatchOutcome.MATCH
    assert result.subject_id == "a"
    assert result.distance == pytest.approx(0.25)
    assert result.runner_up_distance == pytest.approx(0.50)


def test_distance_at_the_threshold_still_matches() -> None:
    rule = DecisionRule(match_threshold=0.375, margin=0.125)

    result = rule.judge(_candidates(("a", 0.375), ("b", 0.5)))

    assert result.outcome is MatchOutcome.MATCH


def test_runner_up_within_the_margin_is_ambiguous() -> None:
    candidates = _candidates(("a", 0.30), ("b", 0.32))

    result = DecisionRule().judge(candidates)

    assert result.outcome is MatchOutcome.AMBIGUOUS
    assert result.subject_id == "a"
    assert result.runner_up_distance == pytest.approx(0.32)


@pytest.mark.parametrize(
    ("runner_up_distance", "expected"),
    [
        (0.21, MatchOutcome.AMBIGUOUS),
        (0.22, MatchOutcome.AMBIGUOUS),
        (0.24, MatchOutcome.MATCH),
        (0.60, MatchOutcome.MATCH),
    ],
)
def test_margin_separates_ambiguous_from_match(
    runner_up_distance: float, expected: MatchOutcome
) -> None:
    candidates = _candidates(("a", 0.20), ("b", runner_up_distance))

    result = DecisionRule().judge(candidates)

    assert result.outcome is expected


def test_single_candidate_under_the_threshold_matches() -> None:
    result = DecisionRule().judge(_candidates(("a", 0.30)))

    assert result.outcome is MatchOutcome.MATCH
    assert result.runner_up_distance is None


def test_claim_for_the_nearest_subject_matches() -> None:
    candidates = _candidates(("a", 0.20), ("b", 0.50))

    result = DecisionRule().judge(candidates, claimed_id="a")

    assert result.outcome is MatchOutcome.MATCH
    assert result.subject_id == "a"


def test_claim_for_a_subject_that_is_not_the_nearest_is_not_a_match() -> None:
    candidates = _candidates(("a", 0.20), ("b", 0.30))

    result = DecisionRule().judge(candidates, claimed_id="b")

    assert result.outcome is not MatchOutcome.MATCH
    assert result.subject_id == "b"
    assert result.distance == pytest.approx(0.30)
    assert result.runner_up_distance == pytest.approx(0.20)


def test_claim_for_an_absent_subject_is_no_match() -> None:
    candidates = _candidates(("a", 0.20), ("b", 0.50))

    result = DecisionRule().judge(candidates, claimed_id="z")

    assert result.outcome is MatchOutcome.NO_MATCH
    assert result.subject_id == "z"
    assert result.distance is None


def test_identify_in_a_gallery_matches_the_nearest_subject() -> None:
    gallery, probe = _synthetic_gallery({"a": 0.6, "b": 0.1, "c": 0.5})

    result = DecisionRule().identify(gallery, probe)

    assert result.outcome is MatchOutcome.MATCH
    assert result.subject_id == "b"
    assert result.distance == pytest.approx(0.1, abs=TOLERANCE)
    assert result.runner_up_distance == pytest.approx(0.5, abs=TOLERANCE)


def test_identify_in_an_empty_gallery_is_no_match() -> None:
    probe = np.zeros(ENCODING_SIZE, dtype=np.float32)

    result = DecisionRule().identify(Gallery.empty(), probe)

    assert result.outcome is MatchOutcome.NO_MATCH
    assert result.distance is None


def test_verify_of_a_claim_beyond_the_two_nearest_is_not_a_match() -> None:
    gallery, probe = _synthetic_gallery({"a": 0.1, "b": 0.2, "c": 0.3})

    result = DecisionRule().verify(gallery, probe, "c")

    assert result.outcome is not MatchOutcome.MATCH
    assert result.distance == pytest.approx(0.3, abs=TOLERANCE)
    assert result.runner_up_distance == pytest.approx(0.1, abs=TOLERANCE)


def test_verify_of_a_subject_not_enrolled_is_no_match() -> None:
    gallery, probe = _synthetic_gallery({"a": 0.1, "b": 0.5})

    result = DecisionRule().verify(gallery, probe, "not-enrolled")

    assert result.outcome is MatchOutcome.NO_MATCH
    assert result.distance is None


@pytest.mark.slow
def test_same_person_is_identified_in_the_gallery(
    real_gallery: Gallery, real_encodings: dict[str, Encodings]
) -> None:
    probe = real_encodings[SAME_PERSON_PROBE]

    result = DecisionRule().identify(real_gallery, probe)

    assert result.outcome is MatchOutcome.MATCH
    assert result.subject_id == "p01"
    assert result.distance is not None
    assert result.distance < 0.33


@pytest.mark.slow
def test_same_person_claiming_their_identity_is_verified(
    real_gallery: Gallery, real_encodings: dict[str, Encodings]
) -> None:
    probe = real_encodings[SAME_PERSON_PROBE]

    result = DecisionRule().verify(real_gallery, probe, "p01")

    assert result.outcome is MatchOutcome.MATCH


@pytest.mark.slow
def test_two_different_east_asian_people_do_not_match(
    real_encodings: dict[str, Encodings],
) -> None:
    enrolled = real_encodings[ENROLMENT_PHOTOS["p23"]]
    gallery = Gallery.build(["p23"], enrolled[None, :])
    probe = real_encodings[UNENROLLED_PROBE]

    identified = DecisionRule().identify(gallery, probe)
    verified = DecisionRule().verify(gallery, probe, "p23")

    assert identified.outcome is MatchOutcome.NO_MATCH
    assert verified.outcome is MatchOutcome.NO_MATCH
    assert identified.distance is not None
    assert identified.distance > 0.40


@pytest.mark.slow
def test_unenrolled_person_is_not_matched_in_the_gallery(
    real_gallery: Gallery, real_encodings: dict[str, Encodings]
) -> None:
    probe = real_encodings[UNENROLLED_PROBE]

    result = DecisionRule().identify(real_gallery, probe)

    assert result.outcome is MatchOutcome.NO_MATCH


@pytest.mark.slow
def test_impostor_claiming_an_enrolled_identity_is_not_matched(
    real_gallery: Gallery, real_encodings: dict[str, Encodings]
) -> None:
    probe = real_encodings[UNENROLLED_PROBE]

    result = DecisionRule().verify(real_gallery, probe, "p01")

    assert result.outcome is MatchOutcome.NO_MATCH


@pytest.mark.slow
def test_gallery_of_one_matches_its_only_subject(
    real_encodings: dict[str, Encodings],
) -> None:
    enrolled = real_encodings[ENROLMENT_PHOTOS["p01"]]
    gallery = Gallery.build(["p01"], enrolled[None, :])
    probe = real_encodings[SAME_PERSON_PROBE]

    result = DecisionRule().identify(gallery, probe)

    assert result.outcome is MatchOutcome.MATCH
    assert result.subject_id == "p01"
    assert result.runner_up_distance is None
