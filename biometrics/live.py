"""A gallery that changes while it is searched: immutable snapshots, swapped whole.

Readers take `LiveGallery.snapshot` (one attribute read, atomic in Python) and
search it without any lock; a snapshot never changes. Writers build the next
snapshot from the current one and swap it in, one writer at a time. A search
that started on the old snapshot finishes on it, consistently.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from biometrics.matching import ENCODING_SIZE, Gallery


class LiveGallery:
    """The current gallery snapshot, and copy-on-write changes to it."""

    def __init__(self, gallery: Gallery | None = None) -> None:
        self._snapshot = gallery or Gallery.empty()
        self._write_lock = threading.Lock()

    @property
    def snapshot(self) -> Gallery:
        """The gallery as it is now; it will not change under the caller."""
        return self._snapshot

    def replace(self, gallery: Gallery) -> None:
        """Swap in a whole new gallery (e.g. rebuilt from the database)."""
        with self._write_lock:
            self._snapshot = gallery

    def add(self, subject_id: str, encodings: npt.ArrayLike) -> Gallery:
        """Add templates of a subject (rows ``(n, 128)``); returns the new snapshot."""
        rows = np.asarray(encodings, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        with self._write_lock:
            current = self._snapshot
            ids = [*_row_subjects(current), *([subject_id] * len(rows))]
            matrix = np.concatenate([current.encodings, rows])
            self._snapshot = Gallery.build(ids, matrix)
            return self._snapshot

    def remove(self, subject_id: str) -> Gallery:
        """Remove every template of a subject; returns the new snapshot."""
        with self._write_lock:
            current = self._snapshot
            subjects = np.asarray(_row_subjects(current), dtype=str)
            keep = subjects != subject_id
            self._snapshot = Gallery.build(
                subjects[keep].tolist(), current.encodings[keep]
            )
            return self._snapshot


def _row_subjects(gallery: Gallery) -> list[str]:
    """The subject id of every row, in row order."""
    counts = np.diff(np.append(gallery.subject_starts, len(gallery)))
    return np.repeat(np.asarray(gallery.subject_ids, dtype=str), counts).tolist()
