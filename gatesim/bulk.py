"""`gatesim enroll DIR`: enrol a folder of photos, resumably, with a summary.

Each person of the folder (``manifest.csv`` or one sub-folder per person)
becomes a citizen, found again by ID number on a rerun: the manifest's
``national_id`` and ``full_name`` columns when present, else a synthetic ID
number derived from the person's label (starting with 9, which no province
code uses). Every photo is enrolled in its own transaction and its outcome is
recorded, so an interrupted run picks up where it stopped and a finished one
does nothing again.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from biometrics import DomainError
from gatesim.db import transaction
from gatesim.photos import Photo, load_photos
from gatesim.runtime import Runtime
from identity_mock.models import BulkEnrolment, Citizen, EnrolmentReview
from identity_mock.service import NewCitizen, enrol_face, register_citizen

PLACEHOLDER_BIRTH_DATE = date(1990, 1, 1)


@dataclass
class BulkSummary:
    """What a bulk enrolment did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    """Photos already handled by an earlier run."""


def enrol_folder(
    folder: Path, runtime: Runtime, *, max_photos: int | None = None, echo: bool = True
) -> BulkSummary:
    """Enrol every photo of every person in the folder not enrolled before."""
    identities = _identities(folder)
    photos = [photo for items in load_photos(folder).values() for photo in items]
    done = _already_done(runtime)
    summary = BulkSummary()

    pending = [p for p in photos if _key(folder, p) not in done]
    summary.skipped = len(photos) - len(pending)
    pending = pending[:max_photos] if max_photos is not None else pending
    bar = tqdm(pending, unit="photo", disable=not echo, desc="enrolling")
    for photo in bar:
        outcome, code = _enrol_one(folder, photo, identities, runtime)
        summary.outcomes[outcome] += 1
        if code:
            summary.refusals[code] += 1
        bar.set_postfix(summary.outcomes)
    return summary


def print_summary(summary: BulkSummary) -> None:
    """Print what was enrolled, held and refused, and why."""
    print(
        f"enrolled {summary.outcomes['enrolled']}, "
        f"held for review {summary.outcomes['held']}, "
        f"refused {summary.outcomes['refused']}, "
        f"already done {summary.skipped}"
    )
    for code, count in summary.refusals.most_common():
        print(f"  refused {count}: {code}")


def _enrol_one(
    folder: Path,
    photo: Photo,
    identities: dict[str, tuple[str, str]],
    runtime: Runtime,
) -> tuple[str, str | None]:
    key = _key(folder, photo)
    try:
        with transaction(runtime.sessions) as session:
            citizen_id = _citizen_for(session, photo.person, identities)
            result = enrol_face(
                session,
                citizen_id,
                photo.path.read_bytes(),
                encoder=runtime.encoder,
                limits=runtime.gate.limits,
                policy=runtime.quality,
                duplicate_threshold=runtime.gate.rule.match_threshold,
                cipher=runtime.cipher,
            )
            outcome = "held" if isinstance(result, EnrolmentReview) else "enrolled"
            session.add(_record(key, citizen_id, outcome, None))
        return outcome, None
    except DomainError as error:
        with transaction(runtime.sessions) as session:
            session.add(_record(key, None, "refused", error.code))
        return "refused", error.code


def _citizen_for(
    session: Session, person: str, identities: dict[str, tuple[str, str]]
) -> int:
    national_id, full_name = identities.get(person) or (_synthetic_id(person), person)
    existing = session.scalar(
        select(Citizen.id).where(Citizen.national_id == national_id)
    )
    if existing is not None:
        return int(existing)
    new = NewCitizen(national_id, full_name, PLACEHOLDER_BIRTH_DATE)
    return register_citizen(session, new).id


def _identities(folder: Path) -> dict[str, tuple[str, str]]:
    """Person label to (ID number, full name), from the manifest where given."""
    manifest = folder / "manifest.csv"
    if not manifest.exists():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        return {
            row["person"]: (row["national_id"], row.get("full_name") or row["person"])
            for row in csv.DictReader(handle)
            if row.get("person") and row.get("national_id")
        }


def _synthetic_id(person: str) -> str:
    digest = int(hashlib.sha256(person.encode()).hexdigest(), 16)
    return f"9{digest % 10**11:011d}"


def _already_done(runtime: Runtime) -> set[str]:
    with runtime.sessions() as session:
        return set(session.scalars(select(BulkEnrolment.photo_key)))


def _record(
    key: str, citizen_id: int | None, outcome: str, code: str | None
) -> BulkEnrolment:
    return BulkEnrolment(
        photo_key=key,
        citizen_id=citizen_id,
        outcome=outcome,
        code=code,
        created_at=datetime.now(UTC),
    )


def _key(folder: Path, photo: Photo) -> str:
    try:
        return str(photo.path.relative_to(folder))
    except ValueError:
        return str(photo.path)
