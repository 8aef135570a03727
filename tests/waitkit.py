"""Waiting for what a test can observe (a screen, a log, a status) instead of sleeping.

:func:`wait_until` polls a predicate until it returns something truthy, with a
generous timeout: a loaded machine (or a parallel run) makes things slower, never
different, so a test waits for the state it needs and never for a fixed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Return the first truthy value of ``predicate()``; fail after ``timeout`` seconds.

    Polls soon at first, then less often, up to every ``interval`` seconds: most waits
    are short, and a long one should not spend the CPU the awaited work needs.
    """
    deadline = time.monotonic() + timeout
    pause = min(interval, 0.005)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(pause)
        pause = min(interval, pause * 2)
