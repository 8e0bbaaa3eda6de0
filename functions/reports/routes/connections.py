"""Routes tagged `connections`: connect a TikTok Shop through OAuth, see the connection, disconnect it (docs/api.md#connections)."""

from __future__ import annotations

import html
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from ordertrail.api.resolver import TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.connections import oauth, status
from ordertrail.connections.connector import Connector, connector_from
from ordertrail.connections.status import ConnectionsView, ConnectionView
from ordertrail.core.environment import get_environment
from ordertrail.runtime import services

router = Router()
NO_STORE = {"Cache-Control": "no-store"}


def _connector() -> Connector:
    """The connection features' collaborators for this request (the repository and directory are the process's own)."""
    return connector_from(get_environment(), services.repository(), services.tenants())


@router.get(
    "/v1/<tenant>/connections",
    summary="Store connections: status, token expiry, shop, last error",
    tags=["connections"],
    operation_id="list_connections",
    responses=documented(200, "The tenant's connections (never a token)", ConnectionsView, *TEAM_ERRORS),
)
def list_connections(tenant: TenantId) -> Response[ConnectionsView]:
    """Each store connection with its status, when its tokens expire, the shop and the last error."""
    return json_response(200, status.connections(_connector(), tenant))


@router.delete(
    "/v1/<tenant>/connections/tiktok-shop",
    summary="Disconnect the TikTok Shop",
    tags=["connections"],
    operation_id="disconnect_tiktok_shop",
    responses=documented(200, "The connection, now disconnected", ConnectionView, *TEAM_ERRORS, 409),
)
def disconnect_tiktok_shop(tenant: TenantId) -> Response[ConnectionView]:
    """Remove the shop's tokens (the app's credentials and all data stay); authorizing again reconnects."""
    return json_response(200, status.disconnect(_connector(), tenant, services.now()))


@router.get(
    "/v1/<tenant>/connections/tiktok-shop/authorize",
    summary="Start connecting the TikTok Shop: a redirect to the seller's authorization page",
    tags=["connections"],
    operation_id="authorize_tiktok_shop",
    responses=documented(302, "A redirect (Location) to TikTok Shop's authorization page, with a signed state", None, *TEAM_ERRORS, 409),
)
def authorize_tiktok_shop(tenant: TenantId) -> Response[str]:
    """Send the seller's browser to TikTok Shop to authorize the tenant's app (the key or a dashboard link opens it)."""
    location = oauth.start(_connector(), tenant, services.now())
    return Response(302, content_types.TEXT_PLAIN, "", headers={"Location": location, **NO_STORE})


@router.get(
    "/v1/connections/tiktok-shop/callback",
    summary="Where TikTok Shop sends the seller back: completes the connection",
    tags=["connections"],
    operation_id="tiktok_shop_callback",
    responses=documented(200, "A small page saying the shop is connected", None, 400, 409, 422, 502, media="text/html"),
)
def tiktok_shop_callback(
    code: Annotated[str | None, Query(max_length=2048, description="TikTok's authorization code")] = None,
    state: Annotated[str | None, Query(max_length=1024, description="The signed state the authorize route made")] = None,
) -> Response[str]:
    """Verify the state (once), exchange the code and store the tokens; a forged, reused, expired or missing state is 400."""
    connection = oauth.complete(_connector(), code, state, services.now())
    shop = html.escape(connection.shop_name or connection.shop_id)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TikTok Shop connected</title></head>'
        f"<body><h1>TikTok Shop connected</h1><p>OrderTrail now reads the orders of {shop}. You can close this page.</p></body></html>"
    )
    return Response(200, "text/html; charset=utf-8", page, headers=NO_STORE)
