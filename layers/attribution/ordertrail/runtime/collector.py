"""Batch steps run with Python's cyclic garbage collector paused, then collect once: its passes cost more than the step.

A step that builds tens of thousands of models and dicts (an export chunk) trips the collector's generation
thresholds hundreds of times, and each older-generation pass walks every container still alive, so the step's CPU
grows faster than its size (measured in `bench/export_speed.py`: 10,000 conversions took 20.5 s of CPU with the
collector on, 7.0 s with it paused). Reference counting still frees everything acyclic at once; the cycles a step
leaves are few (botocore's and pydantic's caches) and are collected in one pass when it ends. See
docs/decisions/2026-12-02-write-costs.md.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def collector_paused(step: Callable[P, R]) -> Callable[P, R]:
    """Run `step` with the cyclic collector off (unless it already was) and collect once when it returns or raises."""

    @wraps(step)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        """`step`, with the cyclic collector paused while it runs."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return step(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
                gc.collect()

    return paused
