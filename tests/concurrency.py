"""Run calls on several threads released at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

AT_ONCE_TIMEOUT_S = 300.0
"""Longest a test waits for the calls to finish."""


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, all started together; their results.

    The results come in the order of `calls`. The first call that raised
    raises here, after all of them have finished.
    """
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        return [future.result(timeout=AT_ONCE_TIMEOUT_S) for future in futures]
