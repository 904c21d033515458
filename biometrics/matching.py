"""The comparison core: a probe encoding against a gallery of enrolled templates.

Distance is euclidean between 128-d dlib encodings, exactly as face_recognition's
``face_distance``: lower is closer, 0.0 is identical, and face_recognition's own
rule of thumb calls two faces the same person under 0.6 (this project calibrates
its own threshold, see `biometrics.decision`).

A `Gallery` is an immutable snapshot: a float32 ``(N, 128)`` C-contiguous matrix
with the squared norm of every row precomputed, the subject (person) of every row,
and rows grouped by subject. A search computes all N squared distances with one
matrix-vector product, ``|g|^2 - 2 g.p + |p|^2``, takes the nearest subjects with
``argpartition`` and recomputes their distances exactly from the differences, so
results match ``face_distance`` to 1e-5 without any Python loop over the gallery.
A subject with several templates is scored by its nearest template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

ENCODING_SIZE = 128

Encodings = npt.NDArray[np.float32]
"""Templates or probes: shape ``(N, 128)``, dtype ``float32``."""


@dataclass(frozen=True)
class Candidate:
    """One enrolled subject and its distance to the probe (lower is closer)."""

    subject_id: str
    distance: float


@dataclass(frozen=True)
class Gallery:
    """An immutable set of templates, grouped by subject, ready to search."""

    encodings: Encodings
    squared_norms: npt.NDArray[np.float32]
    subject_ids: tuple[str, ...]
    subject_starts: npt.NDArray[np.intp]
    """Row where each subject's templates begin; rows of subject i are contiguous."""
    _single_template: bool = field(default=True, repr=False)
    _index_of: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, subject_ids: Sequence[str], encodings: npt.ArrayLike) -> Gallery:
        """Build a gallery from one subject id per template row (any order)."""
        matrix = np.asarray(encodings, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        if len(subject_ids) != matrix.shape[0]:
            raise ValueError("one subject id is needed per template")

        order = np.argsort(np.asarray(subject_ids, dtype=object), kind="stable")
        sorted_ids = [subject_ids[i] for i in order]
        matrix = np.ascontiguousarray(matrix[order])
        starts = _group_starts(sorted_ids)
        unique_ids = tuple(sorted_ids[i] for i in starts)

        matrix.setflags(write=False)
        norms = np.einsum("ij,ij->i", matrix, matrix)
        norms.setflags(write=False)
        index_of = {subject_id: i for i, subject_id in enumerate(unique_ids)}
        single = len(starts) == len(matrix)
        return cls(matrix, norms, unique_ids, starts, single, index_of)

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
        """Return the `k` nearest subjects to one probe, nearest first."""
        probe_row = _as_probe(probe)
        if self.subject_count == 0 or k <= 0:
            return []

        squared = self._squared_distances(probe_row[None, :])[0]
        per_subject = self._per_subject_min(squared)
        nearest = _smallest(per_subject, k)
        return self._exact(probe_row, nearest)[:k]

    def search_batch(self, probes: npt.ArrayLike, k: int = 2) -> list[list[Candidate]]:
        """Return the `k` nearest subjects for each of several probes at once."""
        probe_rows = np.asarray(probes, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        if self.subject_count == 0 or k <= 0:
            return [[] for _ in range(len(probe_rows))]

        squared = self._squared_distances(probe_rows)
        return [
            self._exact(row, _smallest(self._per_subject_min(dists), k))[:k]
            for row, dists in zip(probe_rows, squared, strict=True)
        ]

    def distances(self, probe: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Distance from the probe to every template row, shape ``(N,)``."""
        differences = self.encodings - _as_probe(probe)[None, :]
        distances: npt.NDArray[np.float32] = np.linalg.norm(differences, axis=1)
        return distances

    def verify(self, probe: npt.ArrayLike, subject_id: str) -> Candidate | None:
        """Distance from the probe to one subject (1:1), or None if not enrolled."""
        index = self._index_of.get(subject_id)
        if index is None:
            return None
        return self._exact(_as_probe(probe), np.array([index]))[0]

    def _squared_distances(self, probe_rows: Encodings) -> npt.NDArray[np.float32]:
        """Squared distances, shape ``(M probes, N templates)``; may be slightly < 0."""
        products = probe_rows @ self.encodings.T
        probe_norms = np.einsum("ij,ij->i", probe_rows, probe_rows)
        products *= -2.0
        products += self.squared_norms[None, :]
        products += probe_norms[:, None]
        return products

    def _per_subject_min(
        self, squared: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        if self._single_template:
            return squared
        return np.minimum.reduceat(squared, self.subject_starts)

    def _exact(
        self, probe_row: Encodings, subjects: npt.NDArray[np.intp]
    ) -> list[Candidate]:
        """Exact distances for a few subjects, from differences, nearest first."""
        candidates = []
        for index in subjects:
            rows = self._rows_of(int(index))
            distance = np.linalg.norm(rows - probe_row, axis=1).min()
            candidates.append(Candidate(self.subject_ids[index], float(distance)))
        return sorted(candidates, key=lambda c: (c.distance, c.subject_id))

    def _rows_of(self, index: int) -> Encodings:
        start = self.subject_starts[index]
        stop = (
            self.subject_starts[index + 1]
            if index + 1 < len(self.subject_starts)
            else len(self)
        )
        return self.encodings[start:stop]


def _as_probe(probe: npt.ArrayLike) -> Encodings:
    """A probe as float32 ``(128,)``: a float64 probe would upcast the whole gallery."""
    return np.asarray(probe, dtype=np.float32).reshape(ENCODING_SIZE)


def _group_starts(sorted_ids: Sequence[str]) -> npt.NDArray[np.intp]:
    if not sorted_ids:
        return np.empty(0, dtype=np.intp)
    ids = np.asarray(sorted_ids, dtype=object)
    changes = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return np.concatenate(([0], changes)).astype(np.intp)


def _smallest(values: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the `k` smallest values (unordered), without a full sort.

    Values tied with the k-th are all returned, so that the caller's order by
    (distance, subject id) decides among them, not the partition's whim.
    """
    k = min(k, len(values))
    if k == len(values):
        return np.arange(len(values))
    kth = values[np.argpartition(values, k - 1)[k - 1]]
    return np.flatnonzero(values <= kth)
