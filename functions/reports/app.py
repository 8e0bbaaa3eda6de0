"""ReportsFunction: the team's API (API key), one resolver over the routers in routes/, and every unmatched request ($default)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.api.resolver import create_resolver, resolve
from ordertrail.core.environment import get_environment
from ordertrail.runtime.observability import logger, metrics
from routes import ROUTERS  # this function's own folder is its code root on Lambda and locally (docs/architecture.md#handlers)

# The resolver answers a request no route takes (API Gateway's $default route brings them here) with 404 or 405.
app = create_resolver()
for router in ROUTERS:
    app.include_router(router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return resolve(app, event, context, get_environment().max_body_bytes, team=True)
