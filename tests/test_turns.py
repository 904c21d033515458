"""The first-come, first-served lock that queues requests for the face models."""

from __future__ import annotations

import threading
import time

from biometrics.turns import Turns

WAIT_S = 10.0


def _queue_up(turns: Turns, name: str, served: list[str]) -> threading.Thread:
    """Start a thread that waits for its turn, and return once it is queued."""
    queued = turns.waiting

    def wait_for_turn() -> None:
        with turns:
            served.append(name)

    thread = threading.Thread(target=wait_for_turn)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while turns.waiting == queued and time.monotonic() < deadline:
        time.sleep(0.001)
    return thread


def test_waiters_are_served_in_order_of_arrival() -> None:
    turns = Turns()
    served: list[str] = []
    names = [f"gate-{n}" for n in range(8)]

    turns.acquire()
    threads = [_queue_up(turns, name, served) for name in names]
    turns.release()
    for thread in threads:
        thread.join(WAIT_S)

    assert served == names
    assert turns.acquire(timeout=0)


def test_a_waiter_that_runs_out_of_time_leaves_the_queue() -> None:
    turns = Turns()
    served: list[str] = []
    turns.acquire()

    gave_up = not turns.acquire(timeout=0.05)
    after = _queue_up(turns, "after", served)
    turns.release()
    after.join(WAIT_S)

    assert gave_up
    assert served == ["after"]
    assert turns.waiting == 0
