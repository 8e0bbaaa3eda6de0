"""IngestOrderFunction: TikTok Shop and Shopify webhooks and our signed orders in; the latest order state stored."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.api.resolver import BODY_ERRORS, TenantId, create_resolver, documented, json_response, raw_body, resolve
from ordertrail.core.environment import get_environment
from ordertrail.core.responses import BatchResult, Received
from ordertrail.ingest import orders
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics
from ordertrail.storage.idempotency import register_lambda_context

app = create_resolver()
RECEIVED = "Received: stored (TikTok Shop: queued to fetch), ignored as no newer than the stored state, or an ignored type or topic"
WEBHOOK_ERRORS = (*BODY_ERRORS, 409)  # 409: the same delivery is being processed right now


@app.post(
    "/v1/<tenant>/webhooks/tiktok-shop",
    summary="TikTok Shop push notification",
    tags=["ingest"],
    operation_id="tiktok_shop_webhook",
    responses=documented(200, RECEIVED, Received, *WEBHOOK_ERRORS),
)
def tiktok_shop_webhook(tenant: TenantId) -> Response[Received]:
    """Verify a TikTok Shop push and store the hint that its order is to be fetched (FetchOrderFunction fetches it)."""
    result = orders.tiktok_shop_webhook(
        services.repository(), services.tenants(), tenant, raw_body(app), app.current_event.headers, services.now()
    )
    return json_response(200, result)


@app.post(
    "/v1/<tenant>/webhooks/shopify",
    summary="Shopify orders/create and orders/updated",
    tags=["ingest"],
    operation_id="shopify_webhook",
    responses=documented(200, RECEIVED, Received, *WEBHOOK_ERRORS),
)
def shopify_webhook(tenant: TenantId) -> Response[Received]:
    """Verify a Shopify order webhook and store the order."""
    result = orders.shopify_webhook(
        services.repository(), services.tenants(), tenant, raw_body(app), app.current_event.headers, services.now()
    )
    return json_response(200, result)


@app.post(
    "/v1/<tenant>/orders",
    summary="Normalised orders from any store (signed)",
    tags=["ingest"],
    operation_id="post_orders",
    responses=documented(202, "Valid orders stored; the rest reported by index", BatchResult, *BODY_ERRORS),
)
def post_orders(tenant: TenantId) -> Response[BatchResult]:
    """Verify and store one normalised order or a batch."""
    result = orders.signed_orders(
        services.repository(), services.tenants(), get_environment(), tenant, raw_body(app), app.current_event.headers, services.now()
    )
    return json_response(202, result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    register_lambda_context(context)
    return resolve(app, event, context, get_environment().max_body_bytes)
