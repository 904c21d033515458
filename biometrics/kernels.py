"""Compiled loops of the comparison core (numba), one pass over the gallery.

NumPy alone reads a large gallery about 1.3 times slower than memory allows:
BLAS's matrix-vector product is not a streaming kernel, and every step after it
(adding the norms, comparing, selecting) is another pass. These loops score a
block of rows while it is in cache and keep only the best few subjects of each
probe, so a search reads the gallery once.

Conventions, shared with `biometrics.matching`:

- ``encodings`` is float32 ``(N, 128)``, C-contiguous, rows grouped by subject;
  ``bounds`` (int64, ``(S + 1,)``) holds where each subject's rows begin, then N.
- A row's score for a probe is ``|g|^2 / 2 - g.p``: it orders rows exactly as
  the euclidean distance does, since ``distance^2 = 2 * score + |p|^2``.
  Lower is closer. A subject's score is its best row's.
- ``best_scores`` and ``best_subjects`` (``(M, k)``) hold, per probe, the k best
  subjects seen so far, best first; empty places are ``inf`` and -1. Equal
  scores keep the subject seen first, so ties go to the lower subject index.

Every function runs without the GIL; callers give each thread its own
``best_*`` arrays and merge them afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

_Kernel = TypeVar("_Kernel", bound=Callable[..., Any])

WIDTH = 128
"""Values per encoding; a constant, so that the compiler unrolls and vectorises
the dot products (about 1.3 times faster than a loop to ``probes.shape[1]``)."""

GROUP_ROWS = 64
"""Rows whose best score `keep_best` keeps per probe in its first pass: a probe
that beats its k-th best is then ranked only in the groups that do."""

FASTMATH = {"reassoc", "contract"}
"""Reordered sums (vectorised dot products) and fused multiply-adds; no
assumption about infinities, which mark empty places."""


def _compiled(function: _Kernel) -> _Kernel:
    """Compile to machine code on first use; cached on disk between runs."""
    compiler = numba.njit(cache=True, nogil=True, fastmath=FASTMATH)
    return cast(_Kernel, compiler(function))


@_compiled
def keep_best(
    dots: npt.NDArray[np.float32],
    half_norms: npt.NDArray[np.float32],
    bounds: npt.NDArray[np.int64],
    subject_lo: int,
    subject_hi: int,
    best_scores: npt.NDArray[np.float32],
    best_subjects: npt.NDArray[np.int64],
) -> None:
    """Merge subjects ``subject_lo:subject_hi`` into each probe's k best.

    ``dots`` is ``(rows, M)``: ``g.p`` of the subjects' rows, from the first
    row of `subject_lo` on, against every probe. A first pass finds each
    probe's best score in every group of `GROUP_ROWS` rows, across the probes
    at once (vector lanes). Only the groups that beat a probe's k-th best so
    far are ranked subject by subject; after the first few blocks that is rare.
    """
    group_best = _group_best(dots, half_norms, bounds[subject_lo], bounds[subject_hi])
    probe_best = np.full(dots.shape[1], np.inf, dtype=np.float32)
    for group in range(group_best.shape[0]):
        for probe in range(dots.shape[1]):
            probe_best[probe] = min(probe_best[probe], group_best[group, probe])

    k = best_scores.shape[1]
    for probe in range(dots.shape[1]):
        if probe_best[probe] < best_scores[probe, k - 1]:
            _merge_probe(
                dots[:, probe],
                group_best[:, probe],
                half_norms,
                bounds[subject_lo : subject_hi + 1],
                best_scores[probe],
                best_subjects[probe],
                subject_lo,
            )


@_compiled
def _group_best(
    dots: npt.NDArray[np.float32],
    half_norms: npt.NDArray[np.float32],
    row_lo: int,
    row_hi: int,
) -> npt.NDArray[np.float32]:
    """Best score of each group of `GROUP_ROWS` rows for each probe."""
    probe_count = dots.shape[1]
    groups = (row_hi - row_lo + GROUP_ROWS - 1) // GROUP_ROWS
    group_best = np.full((groups, probe_count), np.inf, dtype=np.float32)
    for group in range(groups):
        group_lo = row_lo + group * GROUP_ROWS
        for row in range(group_lo, min(group_lo + GROUP_ROWS, row_hi)):
            half_norm = half_norms[row]
            for probe in range(probe_count):
                score = half_norm - dots[row - row_lo, probe]
                group_best[group, probe] = min(group_best[group, probe], score)
    return group_best


@_compiled
def _merge_probe(
    probe_dots: npt.NDArray[np.float32],
    group_best: npt.NDArray[np.float32],
    half_norms: npt.NDArray[np.float32],
    bounds: npt.NDArray[np.int64],
    best_scores: npt.NDArray[np.float32],
    best_subjects: npt.NDArray[np.int64],
    first_subject: int,
) -> None:
    """Merge a run of subjects into one probe's k best, in subject order.

    ``bounds`` holds where each subject's rows begin, then where the last
    ends; ``probe_dots`` holds ``g.p`` from the first subject's first row on.
    A row that beats the k-th best brings in its subject, scored by its best
    row; the rows of a subject already ranked are skipped.
    """
    first_row = bounds[0]
    k = len(best_scores)
    next_row = first_row
    for group in range(len(group_best)):
        if not group_best[group] < best_scores[k - 1]:
            continue
        group_lo = first_row + group * GROUP_ROWS
        for row in range(group_lo, min(group_lo + GROUP_ROWS, bounds[-1])):
            if row < next_row:
                continue
            score = half_norms[row] - probe_dots[row - first_row]
            if not score < best_scores[k - 1]:
                continue
            subject = int(np.searchsorted(bounds, row, side="right")) - 1
            next_row = bounds[subject + 1]
            for other in range(bounds[subject], next_row):
                score = min(score, half_norms[other] - probe_dots[other - first_row])
            _insert(best_scores, best_subjects, score, first_subject + subject)


@_compiled
def scan(
    encodings: npt.NDArray[np.float32],
    half_norms: npt.NDArray[np.float32],
    bounds: npt.NDArray[np.int64],
    block_starts: npt.NDArray[np.int64],
    probes: npt.NDArray[np.float32],
    best_scores: npt.NDArray[np.float32],
    best_subjects: npt.NDArray[np.int64],
) -> None:
    """Stream blocks of subjects past a few probes ``(M, 128)``, M small.

    Block b holds subjects ``block_starts[b]:block_starts[b + 1]``. Each row is
    read from memory once and scored against every probe while it is in cache.
    """
    probe_count = probes.shape[0]
    dots = np.empty((_largest_block(bounds, block_starts), probe_count), np.float32)
    for block in range(len(block_starts) - 1):
        subject_lo = block_starts[block]
        subject_hi = block_starts[block + 1]
        row_lo = bounds[subject_lo]
        for row in range(row_lo, bounds[subject_hi]):
            for probe in range(probe_count):
                total = np.float32(0.0)
                for column in range(WIDTH):
                    total += encodings[row, column] * probes[probe, column]
                dots[row - row_lo, probe] = total
        keep_best(
            dots, half_norms, bounds, subject_lo, subject_hi, best_scores, best_subjects
        )


@_compiled
def scan_one(
    encodings: npt.NDArray[np.float32],
    half_norms: npt.NDArray[np.float32],
    bounds: npt.NDArray[np.int64],
    block_starts: npt.NDArray[np.int64],
    probe: npt.NDArray[np.float32],
    best_scores: npt.NDArray[np.float32],
    best_subjects: npt.NDArray[np.int64],
) -> None:
    """`scan` for one probe ``(128,)``, the common search, in a single pass.

    Each row's score is computed and compared with the block's best at once;
    only a block that beats the k-th best so far is ranked subject by subject.
    About 1.4 times faster than `scan` with M = 1.
    """
    scores = np.empty(_largest_block(bounds, block_starts), np.float32)
    k = best_scores.shape[1]
    for block in range(len(block_starts) - 1):
        subject_lo = block_starts[block]
        subject_hi = block_starts[block + 1]
        row_lo = bounds[subject_lo]
        block_best = np.float32(np.inf)
        for row in range(row_lo, bounds[subject_hi]):
            total = np.float32(0.0)
            for column in range(WIDTH):
                total += encodings[row, column] * probe[column]
            score = half_norms[row] - total
            scores[row - row_lo] = score
            block_best = min(block_best, score)
        if not block_best < best_scores[0, k - 1]:
            continue
        for subject in range(subject_lo, subject_hi):
            subject_best = np.float32(np.inf)
            for row in range(bounds[subject], bounds[subject + 1]):
                subject_best = min(subject_best, scores[row - row_lo])
            if subject_best < best_scores[0, k - 1]:
                _insert(best_scores[0], best_subjects[0], subject_best, subject)


@_compiled
def _largest_block(
    bounds: npt.NDArray[np.int64], block_starts: npt.NDArray[np.int64]
) -> int:
    """Rows of the largest block."""
    largest = 0
    for block in range(len(block_starts) - 1):
        rows = bounds[block_starts[block + 1]] - bounds[block_starts[block]]
        largest = max(largest, rows)
    return largest


@_compiled
def exact_distances(
    encodings: npt.NDArray[np.float32],
    bounds: npt.NDArray[np.int64],
    probes: npt.NDArray[np.float32],
    subjects: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Distance of probe m to subject ``subjects[m, i]`` by its nearest row.

    Computed from the differences, as face_recognition's ``face_distance``
    does (in float64); an empty place (-1) is ``inf``. Shape ``(M, places)``.
    """
    probe_count, places = subjects.shape
    distances = np.full((probe_count, places), np.inf)
    for probe in range(probe_count):
        for place in range(places):
            subject = subjects[probe, place]
            if subject < 0:
                continue
            for row in range(bounds[subject], bounds[subject + 1]):
                total = 0.0
                for column in range(WIDTH):
                    difference = np.float64(encodings[row, column])
                    difference -= np.float64(probes[probe, column])
                    total += difference * difference
                distances[probe, place] = min(distances[probe, place], np.sqrt(total))
    return distances


@_compiled
def _insert(
    scores: npt.NDArray[np.float32],
    subjects: npt.NDArray[np.int64],
    score: float | np.float32,
    subject: int,
) -> None:
    """Insert into a sorted list of k best, dropping the last (insertion sort)."""
    place = len(scores) - 1
    while place > 0 and scores[place - 1] > score:
        scores[place] = scores[place - 1]
        subjects[place] = subjects[place - 1]
        place -= 1
    scores[place] = score
    subjects[place] = subject
