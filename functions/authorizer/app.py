"""AuthorizerFunction: resolves a team API key to its tenant; ReportsFunction answers 401/403 from that context.

HTTP API simple authorizers can only deny with 403, but docs/api.md#team-api-keys needs 401 (no or bad key) apart from 403 (another
tenant's key), so this function lets every request through with the key's tenant (empty when unknown).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ordertrail.api import auth
from ordertrail.runtime import services
from ordertrail.runtime.observability import logger

DASHBOARD_ROUTE = "GET /v1/{tenant}/dashboard"
# Routes a browser opens: a signed dashboard link stands in for the key (docs/api.md#dashboard-links).
LINK_ROUTES = frozenset({DASHBOARD_ROUTE, "GET /v1/{tenant}/connections/tiktok-shop/authorize"})
# The reports the page draws: a link also opens their CSV forms, the page's "Download data" links, and nothing else of them.
REPORTS = ("posts", "flows", "keywords", "creators", "coupons", "channels", "time-to-order", "insights", "crossover")
LINK_CSV_ROUTES = frozenset(f"GET /v1/{{tenant}}/reports/{name}" for name in REPORTS)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    request = APIGatewayAuthorizerEventV2(event)
    path_tenant = (request.path_parameters or {}).get("tenant", "")
    key_tenant = auth.tenant_of_api_key(services.tenants(), path_tenant, auth.header(request.headers, "Authorization"))
    # API Gateway leaves queryStringParameters out when there is none (Powertools' property would raise).
    query = request.raw_event.get("queryStringParameters") or {}
    opens_with_link = request.route_key in LINK_ROUTES or (request.route_key in LINK_CSV_ROUTES and query.get("format") == "csv")
    if key_tenant is None and opens_with_link:
        # A browser opening the dashboard (or one of its downloads) carries a signed, expiring link instead of a key.
        key_tenant = auth.tenant_of_dashboard_link(services.tenants(), path_tenant, query.get("link"), services.now())
    return APIGatewayAuthorizerResponseV2(authorize=True, context={"tenant": key_tenant or ""}).asdict()
