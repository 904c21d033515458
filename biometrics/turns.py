"""A lock granted in order of arrival, with a time limit on the wait.

`threading.Lock` hands itself to whichever waiting thread the operating
system wakes first. When a burst of gate requests queues for the face models,
that lets a passenger who presented late be answered before earlier ones,
and under overload leaves the earliest to run out of time. `Turns` serves
waiters first come, first served.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType


class Turns:
    """A first-come, first-served lock (see module)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float = -1) -> bool:
        """Wait for this caller's turn, at most `timeout` s (-1: no limit)."""
        with self._mutex:
            if not self._held and not self._waiting:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(None if timeout < 0 else timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # stays held, by the next waiter
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """How many callers wait for their turn."""
        return len(self._waiting)

    def __enter__(self) -> Turns:
        """Wait for this caller's turn without a limit."""
        self.acquire()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        """Release the lock."""
        self.release()
