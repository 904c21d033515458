"""The comparison core: probe encodings against a gallery of enrolled templates.

Distance is euclidean between 128-d dlib encodings, exactly as face_recognition's
``face_distance``: lower is closer, 0.0 is identical. (face_recognition calls two
faces the same person under 0.6; this project calibrates its own threshold, see
`biometrics.decision`.)

A `Gallery` is an immutable snapshot: a float32 ``(N, 128)`` C-contiguous matrix,
half the squared norm of every row precomputed, the subject (person) of every
row, and rows grouped by subject. A subject with several templates is scored by
its nearest template.

How a search runs, with no Python loop over templates:

1. The rows are cut into blocks that never split a subject, and the blocks
   into one contiguous run per CPU core. A small gallery (a flight) is one run,
   scanned on the calling thread.
2. Each run is scored by a compiled loop (`biometrics.kernels`) that reads
   every row once and keeps, per probe, the best ``k + REFINE_EXTRA`` subjects
   by the score ``|g|^2 / 2 - g.p`` (which orders rows as the distance does).
   A batch of many probes is scored by BLAS matrix products instead, tile by
   tile, and the same loop keeps the best of each tile.
3. The runs' best are merged, and those few subjects are scored again exactly,
   from the differences, as ``face_distance`` does: results agree with it to
   1e-5, and equal distances are ordered by subject id.

The gallery is read once per search (a batch of probes reads it once for all),
so a large search runs at the machine's memory bandwidth.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from biometrics import kernels

ENCODING_SIZE = 128
BLOCK_ROWS = 4096
"""Rows per block of the streaming scan: their scores stay in the core's cache."""
TILE_FLOATS = 128 * 1024
"""Scores per BLAS tile of a batch (512 KB): 2,048 rows for 64 probes. With the
1 MB of rows they come from, they stay in a 2 MB L2 cache; smaller tiles spend
more of their time in the calls around each product (measured: 1.2 times
slower at 512 rows, 10^6 templates)."""
PRODUCT_ROWS = 64
"""Rows per BLAS product within a tile: ``(64, 128) x (128, 64)`` is small
enough for OpenBLAS's kernel that skips packing its operands (measured: 1.2
times faster than one product per tile on a gallery in cache)."""
BATCH_MIN_PROBES = 16
"""From this many probes on, BLAS matrix products score the gallery."""
PARALLEL_MIN_ROWS = 32_768
"""From this many rows on (16 MB), the scan is split among the CPU cores."""
RUNS_PER_WORKER = 4
"""Runs per core that the threads take in turn: a thread that starts late (woken
by the OS) takes fewer, so the search ends when the last run does, not later."""
REFINE_EXTRA = 2
"""Candidates refined exactly beyond k, to absorb float32 rounding near ties."""

Encodings = npt.NDArray[np.float32]
"""Templates or probes: shape ``(N, 128)``, dtype ``float32``."""

_Best = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]
"""Per probe, the best subjects' scores and indexes, shape ``(M, places)``."""


@dataclass(frozen=True)
class Candidate:
    """One enrolled subject and its distance to the probe (lower is closer)."""

    subject_id: str
    distance: float


@dataclass(frozen=True)
class Gallery:
    """An immutable set of templates, grouped by subject, ready to search."""

    encodings: Encodings
    """Shape ``(N, 128)``, float32, C-contiguous, read-only."""
    squared_norms: npt.NDArray[np.float32]
    """``|g|^2`` of every row, shape ``(N,)``."""
    subject_ids: tuple[str, ...]
    """Distinct subjects, sorted; subject i owns one contiguous run of rows."""
    subject_starts: npt.NDArray[np.intp]
    """Row where each subject's templates begin."""
    _half_norms: npt.NDArray[np.float32] = field(repr=False)
    _bounds: npt.NDArray[np.int64] = field(repr=False)
    """`subject_starts`, then N: subject i owns rows ``bounds[i]:bounds[i+1]``."""
    _blocks: npt.NDArray[np.int64] = field(repr=False)
    """Subject where each streaming block begins, then the subject count."""
    _index_of: dict[str, int] = field(repr=False)

    @classmethod
    def build(cls, subject_ids: Sequence[str], encodings: npt.ArrayLike) -> Gallery:
        """Build a gallery from one subject id per template row (any order)."""
        matrix = np.asarray(encodings, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        if len(subject_ids) != matrix.shape[0]:
            raise ValueError("one subject id is needed per template")
        if not np.isfinite(matrix).all():
            raise ValueError("templates must be finite numbers")

        ids = np.asarray(subject_ids, dtype=str)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        matrix = np.ascontiguousarray(matrix[order])
        starts = _group_starts(sorted_ids)
        unique_ids = tuple(str(i) for i in sorted_ids[starts])
        bounds = np.append(starts, len(matrix)).astype(np.int64)

        squared_norms = np.einsum("ij,ij->i", matrix, matrix)
        half_norms = squared_norms * np.float32(0.5)
        for array in (matrix, squared_norms, half_norms, bounds):
            array.setflags(write=False)
        return cls(
            encodings=matrix,
            squared_norms=squared_norms,
            subject_ids=unique_ids,
            subject_starts=starts,
            _half_norms=half_norms,
            _bounds=bounds,
            _blocks=_block_starts(bounds, BLOCK_ROWS),
            _index_of={subject_id: i for i, subject_id in enumerate(unique_ids)},
        )

    @classmethod
    def empty(cls) -> Gallery:
        """A gallery with no templates; every search on it finds no candidate."""
        return cls.build([], np.empty((0, ENCODING_SIZE), dtype=np.float32))

    def __len__(self) -> int:
        """Number of templates (rows)."""
        return int(self.encodings.shape[0])

    @property
    def subject_count(self) -> int:
        """Number of distinct subjects."""
        return len(self.subject_ids)

    def search(self, probe: npt.ArrayLike, k: int = 2) -> list[Candidate]:
        """The `k` nearest subjects to one probe, nearest first (1:N)."""
        return self.search_batch(_as_probe(probe)[None, :], k)[0]

    def search_batch(self, probes: npt.ArrayLike, k: int = 2) -> list[list[Candidate]]:
        """The `k` nearest subjects for each of M probes ``(M, 128)``, in one pass.

        An empty gallery, or k of 0, gives every probe an empty list.
        """
        probe_rows = _as_probes(probes)
        if self.subject_count == 0 or k <= 0 or len(probe_rows) == 0:
            return [[] for _ in range(len(probe_rows))]

        _single_threaded_blas()
        places = min(k + REFINE_EXTRA, self.subject_count)
        many = len(probe_rows) >= BATCH_MIN_PROBES
        blocks = self._tiles(len(probe_rows)) if many else self._blocks
        scan = self._scan_tiles if many else self._scan_blocks
        workers = _workers(len(self))
        if workers == 1:
            best = _no_best(len(probe_rows), places)
            scan(blocks, probe_rows, best)
            found = [best]
        else:
            runs = _share(blocks, self._bounds, workers * RUNS_PER_WORKER)
            found = _scan_shared(
                runs,
                workers,
                lambda run, best: scan(run, probe_rows, best),
                lambda: _no_best(len(probe_rows), places),
            )
        return self._refine(probe_rows, found, k)

    def verify(self, probe: npt.ArrayLike, subject_id: str) -> Candidate | None:
        """Distance from the probe to one subject (1:1), or None if not enrolled."""
        index = self._index_of.get(subject_id)
        if index is None:
            return None
        distance = _nearest_row(self._rows_of(index), _as_probe(probe))
        return Candidate(subject_id, distance)

    def distances(self, probe: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Exact distance from the probe to every template row, shape ``(N,)``."""
        differences = self.encodings - _as_probe(probe)[None, :]
        distances: npt.NDArray[np.float32] = np.linalg.norm(differences, axis=1)
        return distances

    def _scan_blocks(
        self, blocks: npt.NDArray[np.int64], probe_rows: Encodings, best: _Best
    ) -> None:
        """Merge a run of streaming blocks into the best subjects (a few probes)."""
        one = len(probe_rows) == 1
        scan = kernels.scan_one if one else kernels.scan
        probes = probe_rows[0] if one else probe_rows
        scan(self.encodings, self._half_norms, self._bounds, blocks, probes, *best)

    def _scan_tiles(
        self, tiles: npt.NDArray[np.int64], probe_rows: Encodings, best: _Best
    ) -> None:
        """Merge a run of tiles into the best subjects, one BLAS call a tile."""
        row_starts = self._bounds[tiles]
        largest = int(np.diff(row_starts).max())
        dots = np.empty(len(probe_rows) * largest, dtype=np.float32)
        probes_t = np.ascontiguousarray(probe_rows.T)
        for tile in range(len(tiles) - 1):
            row_lo, row_hi = int(row_starts[tile]), int(row_starts[tile + 1])
            tile_dots = dots[: len(probe_rows) * (row_hi - row_lo)]
            tile_dots = tile_dots.reshape(row_hi - row_lo, len(probe_rows))
            _tile_dots(self.encodings[row_lo:row_hi], probes_t, tile_dots)
            kernels.keep_best(
                tile_dots,
                self._half_norms,
                self._bounds,
                int(tiles[tile]),
                int(tiles[tile + 1]),
                *best,
            )

    def _tiles(self, probe_count: int) -> npt.NDArray[np.int64]:
        """Tiles for a batch: as many rows as keep rows x probes scores in L2."""
        rows = max(64, TILE_FLOATS // probe_count)
        return _block_starts(self._bounds, rows)

    def _refine(
        self, probe_rows: Encodings, found: list[_Best], k: int
    ) -> list[list[Candidate]]:
        """Exact distances of the threads' best subjects, the k nearest first."""
        scores = np.concatenate([run_scores for run_scores, _ in found], axis=1)
        subjects = np.concatenate([run_subjects for _, run_subjects in found], axis=1)
        places = found[0][0].shape[1]
        if len(found) > 1:  # one thread's best are sorted already
            order = np.lexsort((subjects, scores), axis=1)[:, :places]
            subjects = np.take_along_axis(subjects, order, axis=1)

        distances = kernels.exact_distances(
            self.encodings, self._bounds, probe_rows, subjects
        )
        order = np.lexsort((subjects, distances), axis=1)[:, :k]
        nearest = np.take_along_axis(subjects, order, axis=1).tolist()
        values = np.take_along_axis(distances, order, axis=1).tolist()
        return [
            [
                Candidate(self.subject_ids[subject], distance)
                for subject, distance in zip(row_subjects, row_values, strict=True)
                if subject >= 0
            ]
            for row_subjects, row_values in zip(nearest, values, strict=True)
        ]

    def _rows_of(self, index: int) -> Encodings:
        return self.encodings[self._bounds[index] : self._bounds[index + 1]]


def warm_up() -> None:
    """Compile (or load from the disk cache) the kernels of every search path."""
    rng = np.random.default_rng(0)
    templates = rng.normal(0.0, 0.09, (8, ENCODING_SIZE)).astype(np.float32)
    gallery = Gallery.build([f"{i // 2}" for i in range(8)], templates)
    gallery.search(templates[0])
    gallery.search_batch(np.repeat(templates, 2, axis=0))


def _tile_dots(rows: Encodings, probes_t: Encodings, out: Encodings) -> None:
    """``g.p`` of every row ``(R, 128)`` and probe, into `out` ``(R, M)``.

    ``probes_t`` is the probes transposed, C-contiguous ``(128, M)``. The rows
    go to BLAS as a stack of products of `PRODUCT_ROWS` rows each, in one call.
    """
    whole = len(rows) // PRODUCT_ROWS * PRODUCT_ROWS
    stacked_rows = rows[:whole].reshape(-1, PRODUCT_ROWS, ENCODING_SIZE)
    stacked_out = out[:whole].reshape(-1, PRODUCT_ROWS, out.shape[1])
    np.matmul(stacked_rows, probes_t, out=stacked_out)
    if whole < len(rows):
        np.matmul(rows[whole:], probes_t, out=out[whole:])


def _no_best(probe_count: int, places: int) -> _Best:
    scores = np.full((probe_count, places), np.inf, dtype=np.float32)
    subjects = np.full((probe_count, places), -1, dtype=np.int64)
    return scores, subjects


def _nearest_row(rows: Encodings, probe_row: Encodings) -> float:
    """Exact distance to the nearest of a subject's rows, as ``face_distance``."""
    return float(np.linalg.norm(rows - probe_row, axis=1).min())


def _as_probe(probe: npt.ArrayLike) -> Encodings:
    """A probe as float32 ``(128,)``: a float64 probe would upcast the gallery."""
    return _as_probes(probe).reshape(ENCODING_SIZE)


def _as_probes(probes: npt.ArrayLike) -> Encodings:
    """Probes as a new float32 ``(M, 128)`` C-contiguous, writable array (one
    array type, so the kernels are compiled once)."""
    matrix = np.array(probes, dtype=np.float32, order="C", copy=True)
    matrix = matrix.reshape(-1, ENCODING_SIZE)
    if not np.isfinite(matrix).all():
        raise ValueError("probe encodings must be finite numbers")
    return matrix


def _group_starts(sorted_ids: npt.NDArray[np.str_]) -> npt.NDArray[np.intp]:
    if len(sorted_ids) == 0:
        return np.empty(0, dtype=np.intp)
    changes = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    return np.concatenate(([0], changes)).astype(np.intp)


def _block_starts(bounds: npt.NDArray[np.int64], rows: int) -> npt.NDArray[np.int64]:
    """Subjects where blocks of about `rows` rows begin (a subject is never cut),
    then the subject count."""
    subject_count = len(bounds) - 1
    targets = np.arange(0, bounds[-1], rows)
    firsts = np.searchsorted(bounds[:-1], targets, side="left")
    starts = np.unique(np.append(firsts, subject_count))
    return starts.astype(np.int64)


def _share(
    blocks: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64], workers: int
) -> list[npt.NDArray[np.int64]]:
    """Cut the blocks into contiguous runs of about equal rows, one per worker.

    Each run is a view of `blocks` from its first block's start to its last's end.
    """
    block_count = len(blocks) - 1
    count = max(1, min(workers, block_count))
    row_ends = bounds[blocks[1:]]
    targets = row_ends[-1] * np.arange(1, count) / count
    cuts = np.searchsorted(row_ends, targets, side="left") + 1
    edges = [0, *sorted(set(cuts.tolist())), block_count]
    return [blocks[a : b + 1] for a, b in itertools.pairwise(edges) if b > a]


def _scan_shared(
    runs: list[npt.NDArray[np.int64]],
    workers: int,
    scan: Callable[[npt.NDArray[np.int64], _Best], None],
    no_best: Callable[[], _Best],
) -> list[_Best]:
    """Scan the runs on the calling thread and up to ``workers - 1`` pool threads.

    Each thread takes the next run not yet taken (``next`` on a shared counter
    is atomic under the GIL) until none is left, and merges every run it takes
    into its own best: each thread's runs come in row order, so ties still go
    to the lower subject, and its best carry over from one run to the next.
    The caller waits for the runs, not for the threads: a thread that wakes
    after every run was taken finds nothing to do and costs the search nothing.
    """
    found: list[_Best] = []
    done = [threading.Event() for _ in runs]
    scanned = [False] * len(runs)
    taken = itertools.count()

    def take_runs() -> None:
        best: _Best | None = None
        for index in iter(taken.__next__, None):
            if index >= len(runs):
                return
            try:
                if best is None:
                    best = no_best()
                    found.append(best)
                scan(runs[index], best)
                scanned[index] = True
            finally:
                done[index].set()

    for _ in range(workers - 1):
        _pool().submit(take_runs)
    take_runs()
    for event in done:
        event.wait()
    if not all(scanned):
        raise RuntimeError("a gallery scan failed")  # the kernel raised in a thread
    return found


def _workers(rows: int) -> int:
    """Threads worth starting for a gallery of this many rows."""
    return (os.cpu_count() or 1) if rows >= PARALLEL_MIN_ROWS else 1


@cache
def _pool() -> ThreadPoolExecutor:
    """Threads that scan a large gallery's runs side by side (kernels drop the GIL)."""
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="gallery-scan")


@cache
def _single_threaded_blas() -> None:
    """BLAS runs one thread per call: the core splits the work among threads itself.

    OpenBLAS's own threads on these small products wake and sleep per call and
    cost more than they bring (measured: 55 ms against 38 ms for 10^6 rows).
    """
    threadpool_limits(limits=1, user_api="blas")
