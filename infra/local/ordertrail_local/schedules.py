"""The template's `rate(...)` schedules, run locally while serving, as EventBridge runs them on AWS.

A cron schedule (the daily export) is not run locally: `make run` starts the export explicitly, and a scheduled
function can always be run by hand (`LocalPipeline.invoke`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from ordertrail_local import template as tpl
from ordertrail_local.pipeline import LocalPipeline

log = logging.getLogger("ordertrail_local.schedules")

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


@dataclass(frozen=True)
class RateSchedule:
    """One function run every `period` seconds."""

    function: str
    period: float


def rate_seconds(expression: str) -> float | None:
    """The period of an EventBridge `rate(N unit)` expression in seconds; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def _expression(template: dict[str, Any], value: Any) -> str | None:
    """A Schedule property's expression: the text itself, or the default of the parameter it references."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        default = ((template.get("Parameters") or {}).get(value["Ref"]) or {}).get("Default")
        return str(default) if default is not None else None
    return None


def rate_schedules(template: dict[str, Any]) -> list[RateSchedule]:
    """Every function the template runs on a `rate(...)` schedule, with its period."""
    found = []
    for function, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != tpl.SERVERLESS_FUNCTION:
            continue
        for event in (tpl.resource_properties(template, function).get("Events") or {}).values():
            if event.get("Type") != "Schedule":
                continue
            expression = _expression(template, (event.get("Properties") or {}).get("Schedule"))
            period = rate_seconds(expression) if expression else None
            if period is not None:
                found.append(RateSchedule(function, period))
    return found


class LocalScheduler:
    """Runs each rate schedule in one background thread; a failed run is logged, and the next one comes on time."""

    def __init__(self, pipeline: LocalPipeline, schedules: list[RateSchedule], clock: Any = time.monotonic) -> None:
        self.pipeline = pipeline
        self.schedules = schedules
        self.clock = clock
        self.runs: dict[str, int] = {s.function: 0 for s in schedules}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self, due_at: dict[str, float]) -> None:
        """Run every schedule whose time has come, and set its next time."""
        now = self.clock()
        for schedule in self.schedules:
            if due_at[schedule.function] <= now:
                due_at[schedule.function] = now + schedule.period
                try:
                    self.pipeline.invoke(schedule.function, drain=False)
                    self.runs[schedule.function] += 1
                except Exception:  # a failed run must not stop the schedule, as on AWS
                    log.exception("scheduled run of %s failed", schedule.function)

    def start(self, tick: float = 1.0) -> None:
        """Start the thread; each schedule first runs one period after the start."""
        if self._thread is not None or not self.schedules:
            return
        due_at = {s.function: self.clock() + s.period for s in self.schedules}

        def loop() -> None:
            while not self._stop.wait(tick):
                self.run_due(due_at)

        self._thread = threading.Thread(target=loop, name="local-schedules", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread (a run in progress finishes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
