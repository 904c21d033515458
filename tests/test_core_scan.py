"""The chunked scan of the comparison core against a brute-force reference."""

from __future__ import annotations

import threading
import time

import numpy as np
import numpy.typing as npt
import pytest

import biometrics.matching as matching
from biometrics import Candidate, Gallery, LiveGallery


def _brute_force(
    subject_ids: list[str],
    encodings: npt.NDArray[np.float32],
    probe: npt.NDArray[np.float32],
    k: int,
) -> list[tuple[str, float]]:
    """Nearest subjects by their nearest template, in float64, ties by id."""
    distances = np.linalg.norm(
        encodings.astype(np.float64) - probe.astype(np.float64), axis=1
    )
    best: dict[str, float] = {}
    for subject, distance in zip(subject_ids, distances.tolist(), strict=True):
        best[subject] = min(distance, best.get(subject, np.inf))
    ranked = sorted(best.items(), key=lambda item: (item[1], item[0]))
    return ranked[:k]


def _random_gallery(
    rng: np.random.Generator, subjects: int, max_templates: int
) -> tuple[list[str], npt.NDArray[np.float32]]:
    counts = rng.integers(1, max_templates + 1, subjects)
    ids = [f"s{i:05d}" for i, count in enumerate(counts) for _ in range(count)]
    encodings = rng.normal(0.0, 0.09, (len(ids), 128)).astype(np.float32)
    return ids, encodings


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks and tiles of a few rows, so that small galleries span many."""
    monkeypatch.setattr(matching, "BLOCK_ROWS", 64)
    monkeypatch.setattr(matching, "TILE_FLOATS", 16 * 20)
    monkeypatch.setattr(matching, "PARALLEL_MIN_ROWS", 128)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("max_templates", [1, 4])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_chunked_search_equals_brute_force(max_templates: int, k: int) -> None:
    rng = np.random.default_rng(max_templates * 10 + k)
    ids, encodings = _random_gallery(rng, 700, max_templates)
    gallery = Gallery.build(ids, encodings)
    probes = rng.normal(0.0, 0.09, (20, 128)).astype(np.float32)

    single = [gallery.search(probe, k=k) for probe in probes]
    batch = gallery.search_batch(probes, k=k)

    for probe, one, many in zip(probes, single, batch, strict=True):
        expected = _brute_force(ids, encodings, probe, k)
        assert [c.subject_id for c in one] == [s for s, _ in expected]
        assert [c.subject_id for c in many] == [s for s, _ in expected]
        got = [c.distance for c in one]
        assert np.allclose(got, [d for _, d in expected], atol=1e-5)


@pytest.mark.usefixtures("small_chunks")
def test_nearest_subject_hidden_in_a_late_chunk_is_found() -> None:
    rng = np.random.default_rng(5)
    ids, encodings = _random_gallery(rng, 500, 1)
    probe = rng.normal(0.0, 0.09, 128).astype(np.float32)
    encodings[-1] = probe + 0.001
    encodings[-2] = probe + 0.002

    found = Gallery.build(ids, encodings).search(probe, k=2)

    assert [c.subject_id for c in found] == [ids[-1], ids[-2]]


def test_subject_with_more_templates_than_a_chunk_is_scored_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matching, "BLOCK_ROWS", 8)
    rng = np.random.default_rng(6)
    encodings = rng.normal(0.0, 0.09, (40, 128)).astype(np.float32)
    ids = ["big"] * 30 + [f"small{i}" for i in range(10)]

    found = Gallery.build(ids, encodings).search(encodings[3], k=3)

    assert found[0].subject_id == "big"
    assert found[0].distance == pytest.approx(0.0, abs=1e-5)
    assert len({c.subject_id for c in found}) == 3


def test_live_gallery_reads_stay_consistent_while_it_changes() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(0.0, 0.09, (300, 128)).astype(np.float32)
    live = LiveGallery(Gallery.build([f"b{i:03d}" for i in range(300)], base))
    newcomer = rng.normal(0.0, 0.09, 128).astype(np.float32)
    errors: list[BaseException] = []
    seen: list[str] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                snapshot = live.snapshot
                found = snapshot.search(newcomer, k=1)
                assert len(snapshot) in (300, 301)
                seen.append(found[0].subject_id)
        except BaseException as error:  # collected and re-raised below
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for _ in range(20):
        live.add("newcomer", newcomer)
        live.remove("newcomer")
    live.add("newcomer", newcomer)
    _wait_for_reads(seen, len(seen) + 2 * len(readers))  # some began after the add
    stop.set()
    for reader in readers:
        reader.join()

    assert not errors
    assert "newcomer" in seen
    assert live.snapshot.search(newcomer, k=1)[0].subject_id == "newcomer"
    assert len(live.snapshot) == 301


def _wait_for_reads(seen: list[str], count: int, timeout_s: float = 30.0) -> None:
    """Wait until `seen` holds `count` reads (each reader has at most one
    read under way, so twice the readers guarantees fresh reads)."""
    deadline = time.monotonic() + timeout_s
    while len(seen) < count and time.monotonic() < deadline:
        time.sleep(0.001)


def test_removing_a_subject_leaves_the_others_searchable() -> None:
    rng = np.random.default_rng(8)
    encodings = rng.normal(0.0, 0.09, (6, 128)).astype(np.float32)
    live = LiveGallery(Gallery.build(["a", "a", "b", "c", "c", "d"], encodings))

    snapshot = live.remove("c")

    assert snapshot.subject_ids == ("a", "b", "d")
    assert snapshot.search(encodings[5], k=1)[0].subject_id == "d"


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("probe_count", [1, 3, 16, 40])
def test_every_search_path_finds_the_same_subjects(probe_count: int) -> None:
    """One probe, a few (streamed) and a batch (BLAS tiles), over many runs."""
    rng = np.random.default_rng(100 + probe_count)
    ids, encodings = _random_gallery(rng, 900, 3)
    gallery = Gallery.build(ids, encodings)
    probes = rng.normal(0.0, 0.09, (probe_count, 128)).astype(np.float32)

    found = gallery.search_batch(probes, k=3)

    for probe, candidates in zip(probes, found, strict=True):
        expected = _brute_force(ids, encodings, probe, 3)
        assert [c.subject_id for c in candidates] == [s for s, _ in expected]


@pytest.mark.usefixtures("small_chunks")
def test_ties_across_runs_go_to_the_lowest_subject_id() -> None:
    rng = np.random.default_rng(11)
    ids, encodings = _random_gallery(rng, 600, 1)
    probe = rng.normal(0.0, 0.09, 128).astype(np.float32)
    twin = probe + np.float32(0.01)
    for row in (590, 10, 300):  # in the last run, the first, one between
        encodings[row] = twin

    found = Gallery.build(ids, encodings).search(probe, k=2)

    assert [c.subject_id for c in found] == [ids[10], ids[300]]
    assert found[0].distance == pytest.approx(found[1].distance, abs=1e-7)


@pytest.mark.usefixtures("small_chunks")
def test_batch_ties_across_runs_go_to_the_lowest_subject_id() -> None:
    rng = np.random.default_rng(14)
    ids, encodings = _random_gallery(rng, 600, 1)
    probes = rng.normal(0.0, 0.09, (16, 128)).astype(np.float32)
    twin = probes[0] + np.float32(0.01)
    for row in (590, 10, 300):  # in the last run, the first, one between
        encodings[row] = twin

    found = Gallery.build(ids, encodings).search_batch(probes, k=2)

    assert [c.subject_id for c in found[0]] == [ids[10], ids[300]]


@pytest.mark.parametrize("max_templates", [1, 7])
def test_batch_over_tiles_of_many_row_groups_equals_brute_force(
    max_templates: int,
) -> None:
    """Full-size tiles, whose subjects straddle the kernel's groups of rows."""
    rng = np.random.default_rng(30 + max_templates)
    ids, encodings = _random_gallery(rng, 1500, max_templates)
    probes = rng.normal(0.0, 0.09, (24, 128)).astype(np.float32)
    for row in (64, 63, 700):  # a tie on both sides of a group edge
        encodings[row] = probes[0] + np.float32(0.01)
    gallery = Gallery.build(ids, encodings)

    found = gallery.search_batch(probes, k=4)

    for probe, candidates in zip(probes, found, strict=True):
        expected = _brute_force(ids, encodings, probe, 4)
        assert [c.subject_id for c in candidates] == [s for s, _ in expected]
        got = [c.distance for c in candidates]
        assert np.allclose(got, [d for _, d in expected], atol=1e-5)


@pytest.mark.usefixtures("small_chunks")
def test_searches_from_many_threads_at_once_agree_with_one_thread() -> None:
    rng = np.random.default_rng(12)
    ids, encodings = _random_gallery(rng, 2000, 2)
    gallery = Gallery.build(ids, encodings)
    probes = rng.normal(0.0, 0.09, (24, 128)).astype(np.float32)
    expected = [gallery.search(probe, k=2) for probe in probes]
    results: dict[int, list[list[Candidate]]] = {}

    def search_all(thread: int) -> None:
        results[thread] = [gallery.search(probe, k=2) for probe in probes]

    threads = [threading.Thread(target=search_all, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(results[i] == expected for i in range(4))


def test_a_probe_that_is_not_a_number_is_refused() -> None:
    gallery = Gallery.build(["a"], np.zeros((1, 128), dtype=np.float32))
    probe = np.full(128, np.nan, dtype=np.float32)

    with pytest.raises(ValueError, match="finite"):
        gallery.search(probe)


def test_read_only_float64_probes_are_searched_like_float32() -> None:
    rng = np.random.default_rng(13)
    ids, encodings = _random_gallery(rng, 50, 1)
    gallery = Gallery.build(ids, encodings)
    probe = encodings[7].astype(np.float64)
    probe.setflags(write=False)

    found = gallery.search(probe, k=1)

    assert found[0].subject_id == ids[7]
    assert found[0].distance == pytest.approx(0.0, abs=1e-6)
