"""Tests of `Gallery`: distances as face_recognition's, nearest subjects first.

Random templates are drawn like dlib encodings: 128 components of scale ~0.09,
a norm near 1. Distances are euclidean (lower is closer) and compared with
`face_recognition.face_distance` within `TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from biometrics import Candidate, FaceEncoder, Gallery, decode_image

ENCODING_SIZE = 128
COMPONENT_SCALE = 0.09
TOLERANCE = 1e-5
REAL_PHOTOS = ("people/p01/2.jpg", "people/p01/5.jpg", "people/p23/1.jpg")

Encodings = npt.NDArray[np.float32]
Distances = npt.NDArray[np.float64]


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every run draws the same templates."""
    return np.random.default_rng(20_240_601)


@pytest.fixture(scope="module")
def real_encodings(
    photo: Callable[[str], bytes], encoder: FaceEncoder
) -> dict[str, Encodings]:
    """Encodings of a few real photos, by path (encoded once per module)."""
    return {
        path: encoder.encode_one(decode_image(photo(path))).encoding
        for path in REAL_PHOTOS
    }


def _random_encodings(rng: np.random.Generator, count: int) -> Encodings:
    shape = (count, ENCODING_SIZE)
    return rng.normal(0.0, COMPONENT_SCALE, shape).astype(np.float32)


def _subject_ids(count: int) -> list[str]:
    return [f"subject-{index:04d}" for index in range(count)]


def _at_distances(probe: Encodings, distances: list[float]) -> Encodings:
    """One template per distance, that far from `probe` along its own axis."""
    templates = np.tile(probe, (len(distances), 1))
    for row, distance in enumerate(distances):
        templates[row, row] += distance
    return templates


def _face_distance(templates: Encodings, probe: Encodings) -> Distances:
    import face_recognition

    return np.asarray(face_recognition.face_distance(templates, probe))


def _assert_candidates_match_face_distance(
    gallery: Gallery, candidates: list[Candidate], probe: Encodings
) -> None:
    row_subject_ids = np.asarray(gallery.subject_ids)[_row_subjects(gallery)]
    for candidate in candidates:
        templates = gallery.encodings[row_subject_ids == candidate.subject_id]
        expected = _face_distance(templates, probe).min()
        assert candidate.distance == pytest.approx(expected, abs=TOLERANCE)


def _row_subjects(gallery: Gallery) -> npt.NDArray[np.intp]:
    """Index into `gallery.subject_ids` of every template row."""
    boundaries = np.arange(len(gallery))
    return np.searchsorted(gallery.subject_starts, boundaries, side="right") - 1


def test_search_distances_equal_face_distance(rng: np.random.Generator) -> None:
    templates = _random_encodings(rng, 300)
    gallery = Gallery.build(_subject_ids(300), templates)
    probes = _random_encodings(rng, 5)

    for probe in probes:
        candidates = gallery.search(probe, k=300)

        assert len(candidates) == 300
        _assert_candidates_match_face_distance(gallery, candidates, probe)


def test_distances_to_every_row_equal_face_distance(
    rng: np.random.Generator,
) -> None:
    gallery = Gallery.build(_subject_ids(300), _random_encodings(rng, 300))
    probe = _random_encodings(rng, 1)[0]

    distances = gallery.distances(probe)

    expected = _face_distance(gallery.encodings, probe)
    assert distances.shape == (300,)
    np.testing.assert_allclose(distances, expected, atol=TOLERANCE)


def test_probe_identical_to_a_template_is_found_at_distance_zero(
    rng: np.random.Generator,
) -> None:
    templates = _random_encodings(rng, 50)
    gallery = Gallery.build(_subject_ids(50), templates)

    for row, probe in enumerate(templates):
        nearest = gallery.search(probe, k=1)[0]

        assert nearest.subject_id == _subject_ids(50)[row]
        assert nearest.distance == pytest.approx(0.0, abs=TOLERANCE)


def test_distances_of_a_probe_identical_to_a_template_are_zero(
    rng: np.random.Generator,
) -> None:
    templates = _random_encodings(rng, 50)
    gallery = Gallery.build(_subject_ids(50), templates)

    own_distances = [
        gallery.distances(probe)[row] for row, probe in enumerate(templates)
    ]

    assert max(own_distances) == pytest.approx(0.0, abs=TOLERANCE)


def test_float64_probe_gives_the_same_candidates_as_float32(
    rng: np.random.Generator,
) -> None:
    gallery = Gallery.build(_subject_ids(40), _random_encodings(rng, 40))
    probe = _random_encodings(rng, 1)[0]

    from_float32 = gallery.search(probe, k=5)
    from_float64 = gallery.search(probe.astype(np.float64), k=5)

    wide_ids = [c.subject_id for c in from_float64]
    assert wide_ids == [c.subject_id for c in from_float32]
    for wide, narrow in zip(from_float64, from_float32, strict=True):
        assert wide.distance == pytest.approx(narrow.distance, abs=1e-6)


def test_search_returns_the_k_nearest_subjects_nearest_first(
    rng: np.random.Generator,
) -> None:
    probe = _random_encodings(rng, 1)[0]
    distances = [0.7, 0.2, 0.9, 0.4, 0.3, 0.8]
    subject_ids = ["f", "b", "a", "e", "c", "d"]
    gallery = Gallery.build(subject_ids, _at_distances(probe, distances))

    nearest = gallery.search(probe, k=3)

    assert [c.subject_id for c in nearest] == ["b", "c", "e"]
    found = [c.distance for c in nearest]
    assert found == pytest.approx([0.2, 0.3, 0.4], abs=TOLERANCE)


def test_k_larger_than_the_gallery_returns_every_subject(
    rng: np.random.Generator,
) -> None:
    probe = _random_encodings(rng, 1)[0]
    gallery = Gallery.build(["x", "y"], _at_distances(probe, [0.5, 0.1]))

    nearest = gallery.search(probe, k=10)

    assert [c.subject_id for c in nearest] == ["y", "x"]


def test_subject_is_scored_by_its_nearest_template(
    rng: np.random.Generator,
) -> None:
    probe = _random_encodings(rng, 1)[0]
    subject_ids = ["b", "a", "b", "c", "b"]
    templates = _at_distances(probe, [0.9, 0.5, 0.2, 0.6, 0.7])
    gallery = Gallery.build(subject_ids, templates)

    nearest = gallery.search(probe, k=3)
    claimed = gallery.verify(probe, "b")

    assert len(gallery) == 5
    assert gallery.subject_count == 3
    assert [c.subject_id for c in nearest] == ["b", "a", "c"]
    found = [c.distance for c in nearest]
    assert found == pytest.approx([0.2, 0.5, 0.6], abs=TOLERANCE)
    assert claimed is not None
    assert claimed.distance == pytest.approx(0.2, abs=TOLERANCE)


def test_search_batch_equals_search_for_each_probe(
    rng: np.random.Generator,
) -> None:
    subject_ids = [f"subject-{index % 25:02d}" for index in range(100)]
    gallery = Gallery.build(subject_ids, _random_encodings(rng, 100))
    probes = _random_encodings(rng, 12)

    batch = gallery.search_batch(probes, k=4)

    assert len(batch) == len(probes)
    for probe, batch_candidates in zip(probes, batch, strict=True):
        single = gallery.search(probe, k=4)
        assert [c.subject_id for c in batch_candidates] == [
            c.subject_id for c in single
        ]
        batch_distances = [c.distance for c in batch_candidates]
        single_distances = [c.distance for c in single]
        assert batch_distances == pytest.approx(single_distances, abs=1e-6)


def test_equal_distances_are_ordered_by_subject_id(
    rng: np.random.Generator,
) -> None:
    template = _random_encodings(rng, 1)
    gallery = Gallery.build(["c", "a", "b"], np.repeat(template, 3, axis=0))
    probe = template[0] + np.float32(0.05)

    nearest = gallery.search(probe, k=3)
    nearest_again = gallery.search(probe, k=3)

    assert [c.subject_id for c in nearest] == ["a", "b", "c"]
    assert nearest == nearest_again


def test_tie_for_the_last_place_goes_to_the_lowest_subject_id(
    rng: np.random.Generator,
) -> None:
    far, tied = _random_encodings(rng, 2)
    templates = np.stack([far + 1.0, far - 1.0, tied, tied])
    gallery = Gallery.build(["a", "b", "c", "d"], templates)

    nearest = gallery.search(tied, k=1)

    assert [c.subject_id for c in nearest] == ["c"]


def test_empty_gallery_finds_no_candidate(rng: np.random.Generator) -> None:
    gallery = Gallery.empty()
    probes = _random_encodings(rng, 3)

    single = gallery.search(probes[0])
    batch = gallery.search_batch(probes)

    assert len(gallery) == 0
    assert gallery.subject_count == 0
    assert single == []
    assert batch == [[], [], []]


def test_verify_of_an_unknown_subject_returns_none(
    rng: np.random.Generator,
) -> None:
    gallery = Gallery.build(_subject_ids(5), _random_encodings(rng, 5))
    probe = _random_encodings(rng, 1)[0]

    claimed = gallery.verify(probe, "not-enrolled")

    assert claimed is None


def test_verify_gives_the_distance_to_the_claimed_subject(
    rng: np.random.Generator,
) -> None:
    probe = _random_encodings(rng, 1)[0]
    templates = _at_distances(probe, [0.3, 0.1, 0.6])
    gallery = Gallery.build(["x", "y", "z"], templates)

    claimed = gallery.verify(probe, "z")

    assert claimed is not None
    assert claimed.subject_id == "z"
    assert claimed.distance == pytest.approx(0.6, abs=TOLERANCE)


def test_gallery_arrays_are_float32_c_contiguous_and_read_only(
    rng: np.random.Generator,
) -> None:
    templates = _random_encodings(rng, 10).astype(np.float64)

    gallery = Gallery.build(_subject_ids(10), templates)

    for array in (gallery.encodings, gallery.squared_norms):
        assert array.dtype == np.float32
        assert array.flags.c_contiguous
        assert not array.flags.writeable
    assert gallery.encodings.shape == (10, ENCODING_SIZE)
    with pytest.raises(ValueError, match="read-only"):
        gallery.encodings[0, 0] = 1.0


def test_gallery_keeps_its_templates_when_the_source_array_changes(
    rng: np.random.Generator,
) -> None:
    templates = _random_encodings(rng, 4)
    gallery = Gallery.build(_subject_ids(4), templates)
    snapshot = gallery.encodings.copy()

    templates[:] = 0.0

    assert np.array_equal(gallery.encodings, snapshot)


def test_build_refuses_a_subject_count_unlike_the_template_count(
    rng: np.random.Generator,
) -> None:
    templates = _random_encodings(rng, 3)

    with pytest.raises(ValueError, match="one subject id"):
        Gallery.build(["only-one"], templates)


@pytest.mark.slow
def test_real_encoding_distances_equal_face_distance(
    real_encodings: dict[str, Encodings],
) -> None:
    paths = list(real_encodings)
    gallery = Gallery.build(paths, np.stack(list(real_encodings.values())))

    for path, probe in real_encodings.items():
        candidates = gallery.search(probe, k=len(paths))

        _assert_candidates_match_face_distance(gallery, candidates, probe)
        assert candidates[0].subject_id == path
        assert candidates[0].distance == pytest.approx(0.0, abs=TOLERANCE)


@pytest.mark.slow
def test_real_probe_of_an_enrolled_person_is_nearest_to_that_person(
    real_encodings: dict[str, Encodings],
) -> None:
    enrolled = {"p01": "people/p01/2.jpg", "p23": "people/p23/1.jpg"}
    templates = np.stack([real_encodings[path] for path in enrolled.values()])
    gallery = Gallery.build(list(enrolled), templates)
    probe = real_encodings["people/p01/5.jpg"]

    nearest = gallery.search(probe, k=2)

    assert [c.subject_id for c in nearest] == ["p01", "p23"]
    expected = _face_distance(templates, probe)
    found = [c.distance for c in nearest]
    assert found == pytest.approx(list(expected), abs=TOLERANCE)
