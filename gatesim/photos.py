"""Folders of photos of people: a ``manifest.csv`` or one sub-folder per person."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Photo:
    """One photo of a known person."""

    path: Path
    person: str
    group: str
    """Population group for per-group figures ("all" when the folder gives none)."""


def load_photos(folder: Path) -> dict[str, list[Photo]]:
    """Photos by person, in manifest (or file name) order; scenes are skipped.

    ``manifest.csv`` has columns ``path,person`` and optionally ``group``; rows
    with an empty person are not a known person and are left out. Without a
    manifest, each sub-folder is one person (as in LFW).
    """
    manifest = folder / "manifest.csv"
    photos = (
        _from_manifest(folder, manifest) if manifest.exists() else _from_tree(folder)
    )
    by_person: dict[str, list[Photo]] = {}
    for photo in photos:
        by_person.setdefault(photo.person, []).append(photo)
    return by_person


def _from_manifest(folder: Path, manifest: Path) -> list[Photo]:
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Photo(folder / row["path"], row["person"], row.get("group") or "all")
        for row in rows
        if row.get("person")
    ]


def _from_tree(folder: Path) -> list[Photo]:
    return [
        Photo(path, person_dir.name, "all")
        for person_dir in sorted(p for p in folder.iterdir() if p.is_dir())
        for path in sorted(person_dir.iterdir())
        if path.suffix.lower() in PHOTO_SUFFIXES
    ]
