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


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    request = APIGatewayAuthorizerEventV2(event)
    path_tenant = (request.path_parameters or {}).get("tenant", "")
    key_tenant = auth.tenant_of_api_key(services.tenants(), path_tenant, auth.header(request.headers, "Authorization"))
    if key_tenant is None and request.route_key in LINK_ROUTES:
        # A browser opening the dashboard carries a signed, expiring link instead of a key.
        # API Gateway leaves queryStringParameters out when there is none (Powertools' property would raise).
        link = (request.raw_event.get("queryStringParameters") or {}).get("link")
        key_tenant = auth.tenant_of_dashboard_link(services.tenants(), path_tenant, link, services.now())
    return APIGatewayAuthorizerResponseV2(authorize=True, context={"tenant": key_tenant or ""}).asdict()
