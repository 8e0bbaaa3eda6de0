"""Reattribute functions: the re-attribution state machine's Plan, Day and Finalize steps (docs/reattribution.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.core.reattribution_runs import ReattributionDayInput, ReattributionFinalizeInput, ReattributionPlanInput
from ordertrail.reattribution import runs
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics


@logger.inject_lambda_context
@event_parser(model=ReattributionPlanInput)
def plan_handler(event: ReattributionPlanInput, context: LambdaContext) -> dict[str, Any]:
    """ReattributePlan: the run's UTC days, for the Distributed Map."""
    return runs.plan(services.repository(), event.tenant, event.run_id, services.now())


@logger.inject_lambda_context
@metrics.log_metrics
@event_parser(model=ReattributionDayInput)
def day_handler(event: ReattributionDayInput, context: LambdaContext) -> dict[str, Any]:
    """ReattributeDay: the next pages of one day's orders, re-attributed under the run's settings."""

    def seconds_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    return runs.reattribute_day(
        services.repository(), services.address_salt, event.tenant, event.run_id, event.day, services.now(), seconds_left
    )


@logger.inject_lambda_context
@event_parser(model=ReattributionFinalizeInput)
def finalize_handler(event: ReattributionFinalizeInput, context: LambdaContext) -> dict[str, Any]:
    """ReattributeFinalize (or RecordFailure): record how the run ended and free the tenant."""
    return runs.finalize(services.repository(), event.tenant, event.run_id, event.error, services.now())
