"""The decision rule every touchpoint uses: accept a match, or refer to staff.

A probe is matched to a subject only when both hold:

- its distance to that subject is at most ``match_threshold`` (euclidean, lower
  is closer; calibrated for the population, far below face_recognition's 0.6);
- the next nearest *other* subject is at least ``margin`` farther away, so a face
  that looks like two enrolled people is never given to either.

Anything else is "no match" or "ambiguous", and the gate refers the passenger to
staff. With a claim (a booking reference or an ID number), the claimed subject
must itself be the nearest, by the same margin, among everyone in the gallery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy.typing as npt

from biometrics.matching import Candidate, Gallery


class MatchOutcome(StrEnum):
    """What the face comparison alone says, before any airport rule."""

    MATCH = "match"
    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class MatchResult:
    """The comparison's outcome with the figures that led to it."""

    outcome: MatchOutcome
    subject_id: str | None
    distance: float | None
    """Distance to the nearest (or claimed) subject; None for an empty gallery."""
    runner_up_distance: float | None
    """Distance to the nearest other subject, None if there is none."""
    threshold: float


@dataclass(frozen=True)
class DecisionRule:
    """Thresholds of the match decision (see the module docstring)."""

    match_threshold: float = 0.38
    margin: float = 0.03

    def judge(
        self, candidates: Sequence[Candidate], claimed_id: str | None = None
    ) -> MatchResult:
        """Judge candidates (nearest first), or the claim on `claimed_id`."""
        if claimed_id is not None:
            return self._judge_claim(candidates, claimed_id)
        if not candidates:
            return MatchResult(
                MatchOutcome.NO_MATCH, None, None, None, self.match_threshold
            )

        best = candidates[0]
        runner_up = candidates[1].distance if len(candidates) > 1 else None
        return self._result(best, runner_up)

    def identify(self, gallery: Gallery, probe_encoding: npt.ArrayLike) -> MatchResult:
        """Search the gallery (1:N) and judge the two nearest subjects."""
        return self.judge(gallery.search(probe_encoding, k=2))

    def verify(
        self, gallery: Gallery, probe_encoding: npt.ArrayLike, claimed_id: str
    ) -> MatchResult:
        """Check a claimed identity (1:1) against the rest of the gallery as cohort."""
        claimed = gallery.verify(probe_encoding, claimed_id)
        others = [
            candidate
            for candidate in gallery.search(probe_encoding, k=2)
            if candidate.subject_id != claimed_id
        ]
        candidates = ([claimed] if claimed else []) + others
        return self._judge_claim(candidates, claimed_id)

    def _judge_claim(
        self, candidates: Sequence[Candidate], claimed_id: str
    ) -> MatchResult:
        claimed = next((c for c in candidates if c.subject_id == claimed_id), None)
        if claimed is None:
            return MatchResult(
                MatchOutcome.NO_MATCH, claimed_id, None, None, self.match_threshold
            )
        others = [c.distance for c in candidates if c.subject_id != claimed_id]
        return self._result(claimed, min(others, default=None))

    def _result(self, best: Candidate, runner_up: float | None) -> MatchResult:
        if best.distance > self.match_threshold:
            outcome = MatchOutcome.NO_MATCH
        elif runner_up is not None and runner_up - best.distance < self.margin:
            outcome = MatchOutcome.AMBIGUOUS
        else:
            outcome = MatchOutcome.MATCH
        return MatchResult(
            outcome, best.subject_id, best.distance, runner_up, self.match_threshold
        )
