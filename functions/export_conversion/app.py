"""ExportConversion functions: the export state machine's Plan, ExportChunk and Finalize steps, and the daily scheduler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.core.environment import get_environment
from ordertrail.core.export_runs import ChunkInput, FinalizeInput, PlanInput
from ordertrail.export import steps
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics
from ordertrail.tally.export_chunks import Chunk


@logger.inject_lambda_context
@event_parser(model=PlanInput)
def plan_handler(event: PlanInput, context: LambdaContext) -> dict[str, Any]:
    """Plan: the run's ≤30-day chunks, from the watermark (or `from`) to now minus the settle period (or `to`)."""
    return steps.plan(services.repository(), event.tenant, event.run_id, event.from_, event.to, services.now())


@logger.inject_lambda_context
@metrics.log_metrics
@event_parser(model=ChunkInput)
def export_chunk_handler(event: ChunkInput, context: LambdaContext) -> dict[str, Any]:
    """ExportChunk: send one chunk; RetryableExportError and AuthenticationError reach the state machine by name."""
    chunk = Chunk(index=event.chunk.index, start=event.chunk.start, end=event.chunk.end)
    return steps.export_chunk(
        services.repository(),
        services.tenants(),
        get_environment().tiktok_events_api_url,
        event.tenant,
        event.run_id,
        chunk,
        services.now(),
    )


@logger.inject_lambda_context
@event_parser(model=FinalizeInput)
def finalize_handler(event: FinalizeInput, context: LambdaContext) -> dict[str, Any]:
    """Finalize (or RecordFailure): move the watermark past the complete chunks and record how the run ended."""
    return steps.finalize(services.repository(), event.tenant, event.run_id, event.chunks, event.error, services.now())


@logger.inject_lambda_context
def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Daily EventBridge schedule: start a run for every tenant with the export on (skipping those whose run is going)."""
    return steps.schedule_daily(services.repository(), services.launcher(), services.now())
