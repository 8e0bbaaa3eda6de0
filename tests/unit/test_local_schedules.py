"""The local stack runs the template's rate(...) schedules while serving, as EventBridge does on AWS."""

from __future__ import annotations

from typing import Any

import pytest

from ordertrail_local.schedules import LocalScheduler, RateSchedule, rate_schedules, rate_seconds
from ordertrail_local.template import load_template


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(5 minutes)", 300), ("rate(1 minute)", 60), ("rate(4 hours)", 14_400), ("rate(1 day)", 86_400), ("cron(30 3 * * ? *)", None)],
)
def test_rate_expressions_give_their_period_and_cron_none(expression: str, seconds: float | None) -> None:
    """A rate expression is a period in seconds; a cron expression is not run locally."""
    assert rate_seconds(expression) == seconds


def test_the_templates_rate_schedules_are_the_hint_retry_and_the_token_refresh() -> None:
    """Given template.yaml, then the hint retry (5 minutes) and the token refresh (4 hours) run locally; the daily export
    (a cron) does not."""
    found = {s.function: s.period for s in rate_schedules(load_template())}
    assert found == {"RetryOrderHintsFunction": 300, "RefreshTokensFunction": 14_400}


class FakePipeline:
    """Records which functions were invoked; one of them fails."""

    def __init__(self) -> None:
        self.invoked: list[str] = []

    def invoke(self, function: str, event: Any = None, drain: bool = True) -> Any:
        self.invoked.append(function)
        if function == "Broken":
            raise RuntimeError("boom")
        return {}


def test_each_schedule_runs_when_its_period_has_passed_and_a_failure_does_not_stop_it() -> None:
    """Given two schedules, when time passes, then each runs once per period; a failing run is logged and runs again."""
    now = [0.0]
    pipeline = FakePipeline()
    scheduler = LocalScheduler(pipeline, [RateSchedule("Retry", 300), RateSchedule("Broken", 600)], clock=lambda: now[0])  # type: ignore[arg-type]
    due_at = {"Retry": 300.0, "Broken": 600.0}
    for now[0] in (100.0, 300.0, 400.0, 600.0, 1200.0):
        scheduler.run_due(due_at)
    assert pipeline.invoked == ["Retry", "Retry", "Broken", "Retry", "Broken"]
    assert scheduler.runs == {"Retry": 3, "Broken": 0}
