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

1. Rows are scanned in chunks of `CHUNK_ROWS`, split among the CPU cores. For
   each chunk, one matrix product gives the score ``s = |g|^2 / 2 - g.p`` of
   every row, so that ``distance^2 = 2 s + |p|^2``; the scores stay in cache.
2. The first chunk of each core sets a cut-off, its k-th best subject score;
   every later row scoring under it is a candidate. That bounds the k-th best
   overall, so no true neighbour is missed and no full sort is needed.
3. The few candidates are scored again exactly, from the differences, as
   ``face_distance`` does: results agree with it to 1e-5, and equal distances
   are ordered by subject id.

The gallery is read once per search (a batch of probes reads it once for all),
so a large search runs close to the machine's memory bandwidth.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

ENCODING_SIZE = 128
CHUNK_ROWS = 8192
"""Rows scored per matrix-vector product (one probe): 4 MB of gallery."""
TILE_ROWS = 1024
"""Rows scored per matrix product for a batch: its scores stay in L2 cache."""
BATCH_MIN_PROBES = 16
"""From this many probes on, the gallery is scanned in tiles, not chunks."""
REFINE_EXTRA = 2
"""Candidates refined exactly beyond k, to absorb float32 rounding near ties."""

Encodings = npt.NDArray[np.float32]
"""Templates or probes: shape ``(N, 128)``, dtype ``float32``."""


@dataclass(frozen=True)
class Candidate:
    """One enrolled subject and its distance to the probe (lower is closer)."""

    subject_id: str
    distance: float


@dataclass(frozen=True)
class _Chunk:
    """Rows ``row_start:row_stop`` hold subjects ``subject_start:subject_stop``."""

    row_start: int
    row_stop: int
    subject_start: int
    local_starts: npt.NDArray[np.intp]
    """Where each subject begins, relative to `row_start`."""


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
    _chunks: tuple[_Chunk, ...] = field(repr=False)
    _tiles: tuple[_Chunk, ...] = field(repr=False)
    _single_template: bool = field(repr=False)
    _index_of: dict[str, int] = field(repr=False)

    @classmethod
    def build(cls, subject_ids: Sequence[str], encodings: npt.ArrayLike) -> Gallery:
        """Build a gallery from one subject id per template row (any order)."""
        matrix = np.asarray(encodings, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        if len(subject_ids) != matrix.shape[0]:
            raise ValueError("one subject id is needed per template")

        ids = np.asarray(subject_ids, dtype=str)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        matrix = np.ascontiguousarray(matrix[order])
        starts = _group_starts(sorted_ids)
        unique_ids = tuple(str(i) for i in sorted_ids[starts])

        squared_norms = np.einsum("ij,ij->i", matrix, matrix)
        half_norms = squared_norms * np.float32(0.5)
        for array in (matrix, squared_norms, half_norms):
            array.setflags(write=False)
        return cls(
            encodings=matrix,
            squared_norms=squared_norms,
            subject_ids=unique_ids,
            subject_starts=starts,
            _half_norms=half_norms,
            _chunks=_split(starts, len(matrix), CHUNK_ROWS),
            _tiles=_split(starts, len(matrix), TILE_ROWS),
            _single_template=len(starts) == len(matrix),
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
        """The `k` nearest subjects for each of M probes ``(M, 128)``, in one pass."""
        probe_rows = _as_probes(probes)
        if self.subject_count == 0 or k <= 0:
            return [[] for _ in range(len(probe_rows))]

        _single_threaded_blas()
        if len(probe_rows) == 1 and len(self._chunks) == 1:
            return [self._search_small(probe_rows[0], k)]
        many = len(probe_rows) >= BATCH_MIN_PROBES
        groups = _share(self._tiles if many else self._chunks, _workers())
        # the calling thread scans the first run itself while the pool scans the rest
        others = [
            _pool().submit(self._scan, group, probe_rows, k) for group in groups[1:]
        ]
        found = [self._scan(groups[0], probe_rows, k)]
        found += [future.result() for future in others]
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

    def _search_small(self, probe_row: Encodings, k: int) -> list[Candidate]:
        """One probe, a gallery of one chunk: the short path (a flight, a gate)."""
        scores = self._subject_scores(self._chunks[0], probe_row[None, :])[:, 0]
        take = min(k + REFINE_EXTRA, len(scores))
        if take < len(scores):
            kth = scores[np.argpartition(scores, take - 1)[take - 1]]
            nearest = np.flatnonzero(scores <= kth)
        else:
            nearest = np.arange(len(scores))
        return self._exact(probe_row, nearest)[:k]

    def _exact(
        self, probe_row: Encodings, subjects: npt.NDArray[np.intp]
    ) -> list[Candidate]:
        """Exact distances to these subjects, nearest first, ties by subject id."""
        if self._single_template:
            rows = self.encodings[self.subject_starts[subjects]]
            distances = np.linalg.norm(rows - probe_row, axis=1).tolist()
        else:
            distances = [_nearest_row(self._rows_of(i), probe_row) for i in subjects]
        candidates = [
            Candidate(self.subject_ids[i], distance)
            for i, distance in zip(subjects.tolist(), distances, strict=True)
        ]
        candidates.sort(key=lambda c: (c.distance, c.subject_id))
        return candidates

    def _scan(
        self, chunks: Sequence[_Chunk], probe_rows: Encodings, k: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Encodings]:
        """Candidates (subject, probe, score) of these chunks; see module docstring."""
        cutoff: npt.NDArray[np.float32] | None = None
        subjects, probes, scores = [], [], []
        for chunk in chunks:
            block = self._subject_scores(chunk, probe_rows)
            if cutoff is None and len(block) >= k:
                cutoff = _kth_bound(block, k)
            if cutoff is None:
                hits = np.arange(block.size)
            else:
                hits = np.flatnonzero(block <= cutoff[None, :])
            rows, columns = np.divmod(hits, block.shape[1])
            subjects.append(rows + chunk.subject_start)
            probes.append(columns)
            scores.append(block.reshape(-1)[hits])
        return np.concatenate(subjects), np.concatenate(probes), np.concatenate(scores)

    def _subject_scores(self, chunk: _Chunk, probe_rows: Encodings) -> Encodings:
        """Scores ``|g|^2/2 - g.p``, shape ``(subjects in chunk, M)``."""
        rows = slice(chunk.row_start, chunk.row_stop)
        if len(probe_rows) == 1:  # matrix-vector: BLAS gemv streams rows faster
            block: Encodings = (self.encodings[rows] @ probe_rows[0])[:, None]
        else:
            block = np.matmul(self.encodings[rows], probe_rows.T)
        np.subtract(self._half_norms[rows, None], block, out=block)
        if self._single_template:
            return block
        reduced: Encodings = np.minimum.reduceat(block, chunk.local_starts, axis=0)
        return reduced

    def _refine(
        self,
        probe_rows: Encodings,
        found: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Encodings]],
        k: int,
    ) -> list[list[Candidate]]:
        """Exact distances of the best candidates of each probe, nearest first."""
        parts = zip(*found, strict=True)
        subjects, probes, scores = (np.concatenate(part) for part in parts)
        order = np.lexsort((subjects, scores, probes))
        subjects, probes = subjects[order], probes[order]
        firsts = np.searchsorted(probes, np.arange(len(probe_rows) + 1))

        results = []
        for probe_index, probe_row in enumerate(probe_rows):
            best = subjects[firsts[probe_index] : firsts[probe_index + 1]]
            results.append(self._exact(probe_row, best[: k + REFINE_EXTRA])[:k])
        return results

    def _rows_of(self, index: int) -> Encodings:
        start = int(self.subject_starts[index])
        last = index + 1 == len(self.subject_starts)
        stop = len(self) if last else int(self.subject_starts[index + 1])
        return self.encodings[start:stop]


def _kth_bound(block: Encodings, k: int) -> npt.NDArray[np.float32]:
    """Per probe, a score that at least `k` subjects of the block reach.

    The rows are cut into k groups; each group's best is a different subject,
    so the worst of those k bests bounds the k-th best from above. It costs one
    pass of minima instead of a partition along the strided axis.
    """
    group_bests = [group.min(axis=0) for group in np.array_split(block, k)]
    bound: npt.NDArray[np.float32] = np.max(group_bests, axis=0)
    return bound


def _nearest_row(rows: Encodings, probe_row: Encodings) -> float:
    """Exact distance to the nearest of a subject's rows, as ``face_distance``."""
    return float(np.linalg.norm(rows - probe_row, axis=1).min())


def _as_probe(probe: npt.ArrayLike) -> Encodings:
    """A probe as float32 ``(128,)``: a float64 probe would upcast the gallery."""
    return np.asarray(probe, dtype=np.float32).reshape(ENCODING_SIZE)


def _as_probes(probes: npt.ArrayLike) -> Encodings:
    matrix = np.asarray(probes, dtype=np.float32).reshape(-1, ENCODING_SIZE)
    return np.ascontiguousarray(matrix)


def _group_starts(sorted_ids: npt.NDArray[np.str_]) -> npt.NDArray[np.intp]:
    if len(sorted_ids) == 0:
        return np.empty(0, dtype=np.intp)
    changes = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    return np.concatenate(([0], changes)).astype(np.intp)


def _split(
    starts: npt.NDArray[np.intp], row_count: int, chunk_rows: int
) -> tuple[_Chunk, ...]:
    """Chunks of about `chunk_rows` rows that never cut a subject in two."""
    chunks = []
    subject = 0
    while subject < len(starts):
        row_start = int(starts[subject])
        last = int(np.searchsorted(starts, row_start + chunk_rows, side="left"))
        last = max(last, subject + 1)
        row_stop = int(starts[last]) if last < len(starts) else row_count
        local = (starts[subject:last] - row_start).astype(np.intp)
        chunks.append(_Chunk(row_start, row_stop, subject, local))
        subject = last
    return tuple(chunks)


def _share(chunks: tuple[_Chunk, ...], workers: int) -> list[tuple[_Chunk, ...]]:
    """Split chunks into contiguous runs of about equal rows, one per worker."""
    count = min(workers, len(chunks))
    row_ends = np.array([chunk.row_stop for chunk in chunks])
    targets = row_ends[-1] * np.arange(1, count) / count
    cuts = np.searchsorted(row_ends, targets, side="left") + 1
    bounds = [0, *sorted(set(cuts.tolist())), len(chunks)]
    return [chunks[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def _workers() -> int:
    return os.cpu_count() or 1


@cache
def _pool() -> ThreadPoolExecutor:
    """Threads that scan a large gallery's chunks side by side (numpy drops the GIL)."""
    return ThreadPoolExecutor(_workers(), thread_name_prefix="gallery-scan")


@cache
def _single_threaded_blas() -> None:
    """BLAS runs one thread per call: the core splits the work among threads itself.

    OpenBLAS's own threads on these small products wake and sleep per call and
    cost more than they bring (measured: 55 ms against 38 ms for 10^6 rows).
    """
    threadpool_limits(limits=1, user_api="blas")
