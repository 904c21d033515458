"""Prometheus metrics an operator can watch, served at ``/metrics``.

- ``gatesim_decisions_total{touchpoint, decision}``: decisions made;
- ``gatesim_stage_seconds{stage}``: time of each stage of a gate decision
  (decode, encode = detection, landmarks and descriptor, decide = match,
  database and rules);
- ``gatesim_gallery_templates``: templates in today's gallery of this process;
- ``gatesim_errors_total{code}``: requests answered with a domain error.

With several workers, each process counts its own; set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder before starting the server to
have ``/metrics`` add them up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

STAGE_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10)

DECISIONS = Counter(
    "gatesim_decisions", "Gate decisions made.", ["touchpoint", "decision"]
)
STAGE_SECONDS = Histogram(
    "gatesim_stage_seconds",
    "Time of each stage of a gate decision.",
    ["stage"],
    buckets=STAGE_BUCKETS_S,
)
GALLERY_TEMPLATES = Gauge(
    "gatesim_gallery_templates",
    "Templates in today's gallery of this process.",
    multiprocess_mode="max",
)
ERRORS = Counter("gatesim_errors", "Requests answered with a domain error.", ["code"])


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
