"""How well, and how safely, the gates recognise people: measured per group.

Two measurements on any folder of photos of known people:

- Verification (1:1): every pair of photos is genuine (same person) or impostor
  (two people). The false match rate FMR(t) is the share of impostor pairs at
  distance <= t; the false non-match rate FNMR(t) the share of genuine pairs
  above t. Figures are given overall and per group, impostor pairs counted in
  a group when both people belong to it.
- Open-set identification (1:N), as NIST tests boarding: each person with two
  or more photos is enrolled from the first; their other photos are mated
  searches. Non-mated searches are the photos of people not enrolled, and each
  enrolled person's photos searched against the gallery without them. Under
  the gates' own `DecisionRule`: FNIR is the share of mated searches not
  matched to the right person (referred to staff, or worse); FPIR the share of
  non-mated searches matched to anyone. A wrong-person accept is any search
  matched to someone it is not.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from biometrics import DecisionRule, FaceEncoder, FaceError, Gallery, MatchOutcome
from biometrics.imaging import ImageLimits, decode_image
from gatesim.photos import load_photos

THRESHOLDS = np.round(np.arange(0.20, 0.801, 0.01), 2)
"""The distance thresholds at which FMR and FNMR are tabulated."""
ALL = "all"


@dataclass
class EncodedSet:
    """The encodings of a photo folder, one row per photo that gave one face."""

    people: list[str]
    groups: list[str]
    paths: list[str]
    encodings: npt.NDArray[np.float32]
    failures: dict[str, str] = field(default_factory=dict)
    """Photo path to the error code of photos that gave no usable face."""


def read_groups(path: Path | None) -> dict[str, str]:
    """``person,group`` rows of a CSV file, or nothing."""
    if path is None:
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["person"]: row["group"] for row in csv.DictReader(handle)}


def encode_folder(
    folder: Path,
    encoder: FaceEncoder,
    *,
    groups: dict[str, str] | None = None,
    limits: ImageLimits | None = None,
) -> EncodedSet:
    """Encode every photo of every known person in the folder."""
    groups = groups or {}
    people, group_of_row, paths, rows = [], [], [], []
    failures: dict[str, str] = {}
    for person, photos in load_photos(folder).items():
        for photo in photos:
            try:
                image = decode_image(photo.path.read_bytes(), limits)
                encoding = encoder.encode_one(image).encoding
            except FaceError as error:
                failures[str(photo.path)] = error.code
                continue
            people.append(person)
            group_of_row.append(groups.get(person, photo.group))
            paths.append(str(photo.path))
            rows.append(encoding)
    matrix = np.asarray(rows, dtype=np.float32).reshape(-1, 128)
    return EncodedSet(people, group_of_row, paths, matrix, failures)


def verification(encoded: EncodedSet, threshold: float) -> dict[str, Any]:
    """Genuine and impostor distances, FMR and FNMR per threshold and group."""
    people = np.asarray(encoded.people)
    groups = np.asarray(encoded.groups)
    first, second = np.triu_indices(len(people), k=1)
    differences = encoded.encodings[first] - encoded.encodings[second]
    distances = np.linalg.norm(differences.astype(np.float64), axis=1)
    genuine = people[first] == people[second]
    same_group = groups[first] == groups[second]

    report = {}
    for group in [ALL, *sorted(set(encoded.groups))]:
        in_group = (
            np.ones_like(genuine)
            if group == ALL
            else same_group & (groups[first] == group)
        )
        report[group] = _rates(
            distances[in_group & genuine], distances[in_group & ~genuine], threshold
        )
    return report


def open_set(encoded: EncodedSet, rule: DecisionRule) -> dict[str, Any]:
    """FNIR, FPIR and wrong-person accepts under the gates' rule, per group."""
    searches = list(_searches(encoded, rule))
    report = {}
    for group in [ALL, *sorted(set(encoded.groups))]:
        chosen = [s for s in searches if group in (ALL, s.group)]
        mated = [s for s in chosen if s.mated]
        non_mated = [s for s in chosen if not s.mated]
        report[group] = {
            "mated_searches": len(mated),
            "non_mated_searches": len(non_mated),
            "fnir": _share(s.matched_to != s.person for s in mated),
            "fpir": _share(s.matched_to is not None for s in non_mated),
            "wrong_person_accepts": sum(
                s.matched_to is not None and s.matched_to != s.person for s in chosen
            ),
        }
    return report


@dataclass(frozen=True)
class _Search:
    person: str
    group: str
    mated: bool
    matched_to: str | None


def _searches(encoded: EncodedSet, rule: DecisionRule) -> Iterable[_Search]:
    people = encoded.people
    first_row: dict[str, int] = {}
    counts: dict[str, int] = {}
    for row, person in enumerate(people):
        first_row.setdefault(person, row)
        counts[person] = counts.get(person, 0) + 1
    enrolled = sorted(p for p in first_row if counts[p] >= 2)
    enrolment_rows = [first_row[p] for p in enrolled]
    gallery = Gallery.build(enrolled, encoded.encodings[enrolment_rows])

    for row, person in enumerate(people):
        group = encoded.groups[row]
        if person in first_row and first_row[person] == row and person in enrolled:
            continue
        if person in enrolled:
            yield _Search(person, group, True, _matched(rule, gallery, encoded, row))
        else:
            yield _Search(person, group, False, _matched(rule, gallery, encoded, row))

    for person in enrolled:
        without = [p for p in enrolled if p != person]
        rows = [first_row[p] for p in without]
        smaller = Gallery.build(without, encoded.encodings[rows])
        for row in (r for r, p in enumerate(people) if p == person):
            group = encoded.groups[row]
            yield _Search(person, group, False, _matched(rule, smaller, encoded, row))


def _matched(
    rule: DecisionRule, gallery: Gallery, encoded: EncodedSet, row: int
) -> str | None:
    result = rule.identify(gallery, encoded.encodings[row])
    return result.subject_id if result.outcome is MatchOutcome.MATCH else None


def _rates(
    genuine: npt.NDArray[np.float64],
    impostor: npt.NDArray[np.float64],
    threshold: float,
) -> dict[str, Any]:
    fmr = [float((impostor <= t).mean()) if len(impostor) else None for t in THRESHOLDS]
    fnmr = [float((genuine > t).mean()) if len(genuine) else None for t in THRESHOLDS]
    return {
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "genuine_median": _stat(np.median, genuine),
        "genuine_max": _stat(np.max, genuine),
        "impostor_min": _stat(np.min, impostor),
        "impostor_median": _stat(np.median, impostor),
        "impostors_under_0_6": _stat(lambda d: (d < 0.6).mean(), impostor),
        "fmr_at_threshold": _stat(lambda d: (d <= threshold).mean(), impostor),
        "fnmr_at_threshold": _stat(lambda d: (d > threshold).mean(), genuine),
        "false_matches_at_threshold": int((impostor <= threshold).sum()),
        "thresholds": THRESHOLDS.tolist(),
        "fmr": fmr,
        "fnmr": fnmr,
        "genuine_distances": genuine.tolist(),
        "impostor_distances": impostor.tolist(),
    }


def _stat(function: Any, values: npt.NDArray[np.float64]) -> float | None:
    return round(float(function(values)), 4) if len(values) else None


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else None
