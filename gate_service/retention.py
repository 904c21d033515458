"""The purge: what the airport and the identity service must no longer keep.

One run deletes, in one transaction:

- the gate's template copies of every flight that departed more than the
  grace period ago;
- decision records older than their retention period;
- enrolled templates, and enrolments held for review, older than theirs.

Several processes may run it at once: each run first takes the purge row of
the change counters (a row lock on PostgreSQL, the write lock on SQLite), so
runs follow one another and a second finds nothing left to delete; the very
first runs create that row without colliding (`gatesim.db.note_change`). A
run that deleted templates or copies moves the gallery change counter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, delete, select
from sqlalchemy.orm import Session, sessionmaker

from gate_service.models import DecisionRecord, Flight, GateTemplateCopy
from gate_service.retention_periods import RetentionPeriods
from gatesim.db import note_change, transaction
from identity_mock.models import EnrolmentReview, FaceTemplate

logger = logging.getLogger(__name__)

PURGE_SCOPE = "purge"
"""The change-counter row that serialises purges across processes."""


@dataclass(frozen=True)
class PurgeReport:
    """How many rows of each kind one purge deleted."""

    gate_copies: int
    templates: int
    reviews: int
    decisions: int

    @property
    def galleries_changed(self) -> bool:
        """Whether a template or a copy went, so galleries must be rebuilt."""
        return self.gate_copies + self.templates > 0


def run_purge(
    sessions: sessionmaker[Session], periods: RetentionPeriods, now: datetime
) -> PurgeReport:
    """Purge what is past its retention, in its own transaction."""
    with transaction(sessions) as session:
        report = purge(session, periods, now)
    _log(report)
    return report


def purge(session: Session, periods: RetentionPeriods, now: datetime) -> PurgeReport:
    """Purge in the caller's transaction; see the module docstring."""
    note_change(session, PURGE_SCOPE)  # runs of other processes wait here

    template_expired = FaceTemplate.created_at < now - periods.templates
    departed = select(Flight.id).where(
        Flight.departure_at < now - periods.gate_copy_grace
    )
    expired = select(FaceTemplate.id).where(template_expired)
    copies_due = GateTemplateCopy.flight_id.in_(departed) | (
        GateTemplateCopy.template_id.in_(expired)
    )

    gate_copies = _deleted(session, delete(GateTemplateCopy).where(copies_due))
    templates = _deleted(session, delete(FaceTemplate).where(template_expired))
    reviews = _deleted(
        session,
        delete(EnrolmentReview).where(
            EnrolmentReview.created_at < now - periods.reviews
        ),
    )
    decisions = _deleted(
        session,
        delete(DecisionRecord).where(
            DecisionRecord.created_at < now - periods.decisions
        ),
    )

    report = PurgeReport(gate_copies, templates, reviews, decisions)
    if report.galleries_changed:
        note_change(session)
    return report


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE; answers how many rows it removed."""
    return int(getattr(session.execute(statement), "rowcount", 0))


def _log(report: PurgeReport) -> None:
    logger.info(
        "purge gate_copies=%d templates=%d reviews=%d decisions=%d",
        report.gate_copies,
        report.templates,
        report.reviews,
        report.decisions,
    )
