"""ExportConversion functions: the export state machine's Plan, ExportChunk and Finalize steps, and the daily scheduler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail import export, runtime
from ordertrail.export_chunks import Chunk
from ordertrail.export_runs import ChunkInput, FinalizeInput, PlanInput
from ordertrail.observability import logger, metrics
from ordertrail.settings import get_settings


@logger.inject_lambda_context
@event_parser(model=PlanInput)
def plan_handler(event: PlanInput, context: LambdaContext) -> dict[str, Any]:
    """Plan: the run's ≤30-day chunks, from the watermark (or `from`) to now minus the settle period (or `to`)."""
    return export.plan(runtime.repository(), event.tenant, event.run_id, event.from_, event.to, runtime.now())


@logger.inject_lambda_context
@metrics.log_metrics
@event_parser(model=ChunkInput)
def export_chunk_handler(event: ChunkInput, context: LambdaContext) -> dict[str, Any]:
    """ExportChunk: send one chunk; RetryableExportError and AuthenticationError reach the state machine by name."""
    chunk = Chunk(index=event.chunk.index, start=event.chunk.start, end=event.chunk.end)
    return export.export_chunk(
        runtime.repository(), runtime.tenants(), get_settings().tiktok_events_api_url, event.tenant, event.run_id, chunk, runtime.now()
    )


@logger.inject_lambda_context
@event_parser(model=FinalizeInput)
def finalize_handler(event: FinalizeInput, context: LambdaContext) -> dict[str, Any]:
    """Finalize (or RecordFailure): move the watermark past the complete chunks and record how the run ended."""
    return export.finalize(runtime.repository(), event.tenant, event.run_id, event.chunks, event.error, runtime.now())


@logger.inject_lambda_context
def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Daily EventBridge schedule: start a run for every tenant with the export on (skipping those whose run is going)."""
    return export.schedule_daily(runtime.repository(), runtime.launcher(), runtime.now())
