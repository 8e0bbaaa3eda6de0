"""FetchOrderFunction: stream records of due order hints in, the orders they name fetched and stored; a schedule retries the rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.connections import tokens
from ordertrail.connections.connector import connector_from
from ordertrail.core.environment import get_environment
from ordertrail.ingest import hints
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage.hints import hint_of
from ordertrail.storage.tenant_secrets import TikTokShopSecrets

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# Hints made due again per scheduled run (the rest wait for the next run, soonest first).
WAKE_LIMIT = 500


def record_handler(record: DynamoDBRecord) -> int:
    """Fetch and store the order one due hint names; a failed fetch is recorded on the hint, not raised."""
    image = record.dynamodb.new_image if record.dynamodb else None
    repository, directory, environment = services.repository(), services.tenants(), get_environment()

    def refresh(tenant: str, rejected_access_token: str, now: datetime) -> TikTokShopSecrets | None:
        # Built only when TikTok refused a token: most fetches never need the auth client.
        connector = connector_from(environment, repository, directory)
        return tokens.refresh_after_rejection(connector, tenant, now, rejected_access_token)

    outcome = hints.fetch_hint(repository, directory, environment, hint_of(image or {}), services.now(), refresh)
    return outcome.stored


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Stream entry point: only records that could not be processed at all are retried (bisected, then the DLQ)."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


@logger.inject_lambda_context
@metrics.log_metrics
def retry_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Schedule entry point: make every hint whose next attempt has come due again, so the stream fetches it."""
    woken = hints.wake_due_hints(services.repository(), services.now(), WAKE_LIMIT)
    metrics.add_metric(name="OrderHintsRetried", unit="Count", value=woken)
    logger.info("waiting order hints made due", extra={"woken": woken})
    return {"woken": woken}
