"""AttributeFunction: DynamoDB stream records of new/changed orders and new touchpoints in; attributions out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.attribution import attribute
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> str:
    """Attribute the order (or re-attribute the buyer's orders) one stream record is about."""
    image = record.dynamodb.new_image if record.dynamodb else None
    return attribute.on_stream_image(services.repository(), image or {}, services.now(), services.address_salt)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point: failed records are reported so only they are retried (bisected, then sent to the DLQ)."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
