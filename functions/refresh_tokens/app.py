"""RefreshTokensFunction: on a schedule, refresh every TikTok Shop connection whose access token expires within 48 hours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.connections import tokens
from ordertrail.connections.connector import connector_from
from ordertrail.core.environment import get_environment
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge schedule: refresh the due connections, one at a time; log and return the counts (never a token)."""
    environment = get_environment()
    connector = connector_from(environment, services.repository(), services.tenants())
    summary = tokens.refresh_due(connector, services.now(), timedelta(seconds=environment.token_refresh_within_seconds))
    counts = {"due": summary.due, **dict(sorted(summary.outcomes.items()))}
    logger.info("token refresh run", extra=counts)
    return counts
