"""Waiting in tests: a condition polled until it holds, with a limit generous enough for a busy 2-core machine.

A passing run returns as soon as the condition holds; only a broken one waits the whole limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# Ten minutes: the machine running the suite may be shared by other work; no correct run comes near it.
WAIT_LIMIT = 600.0


def wait_until(condition: Callable[[], T], what: str, limit: float = WAIT_LIMIT, interval: float = 0.05) -> T:
    """Call `condition` until it returns something truthy and return that; fail the test naming `what` after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: still not true after {limit:.0f} s")
        time.sleep(interval)
