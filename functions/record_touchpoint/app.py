"""RecordTouchpointFunction: signed touchpoints (comments, DMs, flow steps, shop links, clicks) in, stored once each."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.api.resolver import BODY_ERRORS, TenantId, create_resolver, documented, json_response, raw_body, resolve
from ordertrail.core.environment import get_environment
from ordertrail.core.responses import BatchResult
from ordertrail.ingest import touchpoints
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics

app = create_resolver()


@app.post(
    "/v1/<tenant>/touchpoints",
    summary="One touchpoint or a batch of up to 500",
    tags=["ingest"],
    operation_id="post_touchpoints",
    responses=documented(202, "`{accepted, duplicates, errors}`: valid items stored, the rest by index", BatchResult, *BODY_ERRORS),
)
def post_touchpoints(tenant: TenantId) -> Response[BatchResult]:
    """Verify the signature and store every valid touchpoint."""
    result = touchpoints.record_touchpoints(
        services.repository(), services.tenants(), get_environment(), tenant, raw_body(app), app.current_event.headers, services.now()
    )
    return json_response(202, result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return resolve(app, event, context, get_environment().max_body_bytes)
