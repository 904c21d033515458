"""Derive the decision rule's threshold and margin from photos, for a target FMR.

The threshold is set by the hardest group: for each group, the largest distance
whose impostor false match rate stays at or under the target; the rule takes
the smallest of those. A group with too few impostor pairs to measure the
target (fewer than 1 / target) gets its closest impostor pair minus
`SAFETY_GAP`, and the answer says it was extrapolated. The margin is the
smallest that leaves no wrong-person accept in open-set identification at
that threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biometrics import DecisionRule
from gatesim.evaluation import ALL, EncodedSet, open_set, verification

SAFETY_GAP = 0.01
"""Distance kept below the closest impostor pair when FMR cannot be measured."""
MARGINS = np.round(np.arange(0.0, 0.151, 0.01), 2)


@dataclass(frozen=True)
class Calibration:
    """Calibrated rule parameters and how each group led to them."""

    threshold: float
    margin: float
    group_thresholds: dict[str, float]
    extrapolated: list[str]
    """Groups whose threshold came from the closest impostor, not a quantile."""
    wrong_person_accepts: int


def calibrate(encoded: EncodedSet, target_fmr: float) -> Calibration:
    """Threshold and margin for the target FMR, the strictest group deciding."""
    groups = verification(encoded, threshold=0.6)
    group_thresholds, extrapolated = {}, []
    for group, rates in groups.items():
        if group == ALL or not rates["impostor_pairs"]:
            continue
        impostors = np.sort(np.asarray(rates["impostor_distances"]))
        allowed = int(np.floor(target_fmr * len(impostors)))
        if allowed == 0:
            extrapolated.append(group)
            group_thresholds[group] = round(float(impostors[0]) - SAFETY_GAP, 3)
        else:
            group_thresholds[group] = round(float(impostors[allowed]) - 1e-3, 3)
    threshold = min(group_thresholds.values())

    margin, wrong = _margin(encoded, threshold)
    return Calibration(threshold, margin, group_thresholds, extrapolated, wrong)


def _margin(encoded: EncodedSet, threshold: float) -> tuple[float, int]:
    wrong = 0
    for margin in MARGINS:
        report = open_set(encoded, DecisionRule(threshold, float(margin)))
        wrong = int(report[ALL]["wrong_person_accepts"])
        if wrong == 0:
            return float(margin), 0
    return float(MARGINS[-1]), wrong
