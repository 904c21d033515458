"""How long each kind of biometric data and record is kept (see `retention`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetentionPeriods:
    """Retention periods, read from settings; the purge applies them."""

    gate_copy_grace: timedelta
    """After a flight's departure, how long the gate keeps its template copies."""
    decisions: timedelta
    """How long a decision record is kept."""
    templates: timedelta
    """How long an enrolled template is kept."""
    reviews: timedelta
    """How long an enrolment held for review is kept."""
