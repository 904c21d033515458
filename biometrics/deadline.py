"""Per-request time limits: a deadline that work checks between its stages.

The server sets a deadline when a request arrives (`time_limit`). Work that
may wait, such as queueing for the face models, waits no longer than the time
left, and each stage checks the deadline before it starts. A stage that has
started is never cut off half-way: a decision that reaches the database is
committed and answered, never lost behind a time-out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from biometrics.errors import DomainError

_DEADLINE: ContextVar[float | None] = ContextVar("deadline", default=None)
"""`time.monotonic()` value after which the current request gives up."""


class TimeLimitExceeded(DomainError):
    """The request ran out of time before its work could start (server busy)."""

    code = "busy"
    status_code = 503
    default_message = (
        "The service is busy and could not answer in time. Try again in a moment."
    )


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Give the work inside at most `seconds` (nested limits keep the earlier)."""
    deadline = time.monotonic() + seconds
    current = _DEADLINE.get()
    if current is not None:
        deadline = min(deadline, current)
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_s() -> float | None:
    """Seconds left before the deadline (0 when passed), or None without one."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def check_time() -> None:
    """Raise `TimeLimitExceeded` if the deadline has passed."""
    if remaining_s() == 0.0:
        raise TimeLimitExceeded()
