"""Routes tagged `connections`: connect a TikTok Shop (OAuth), see the connections, disconnect, verify Shopify (docs/api.md#connections)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Annotated, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from ordertrail.api.resolver import TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.connections import shopify_setup, status
from ordertrail.connections.shopify_setup import ShopifySetupReport
from ordertrail.connections.status import ConnectionsView, ConnectionView
from ordertrail.core.environment import get_environment
from ordertrail.runtime import services

if TYPE_CHECKING:
    from ordertrail.connections.connector import Connector

router = Router()
NO_STORE = {"Cache-Control": "no-store"}


def _connector() -> Connector:
    """The connection features' collaborators for this request (the repository and directory are the process's own)."""
    from ordertrail.connections.connector import connector_from  # on first use: it brings TikTok Shop's token client

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
    responses=documented(
        302, "A redirect (Location) to TikTok Shop's authorization page, with a signed state", None, *TEAM_ERRORS, 409, media="text/plain"
    ),
)
def authorize_tiktok_shop(tenant: TenantId) -> Response[str]:
    """Send the seller's browser to TikTok Shop to authorize the tenant's app (the key or a dashboard link opens it)."""
    from ordertrail.connections import oauth  # on first use: the OAuth flow serves this route and the callback alone

    location = oauth.start(_connector(), tenant, services.now())
    return Response(302, content_types.TEXT_PLAIN, "", headers={"Location": location, **NO_STORE})


@router.post(
    "/v1/<tenant>/connections/shopify/verify",
    summary="Verify the Shopify connection: the admin token, and the orders webhooks registered here",
    tags=["connections"],
    operation_id="verify_shopify",
    responses=documented(
        200, "What was found and fixed; status needs_attention lists what the seller must fix", ShopifySetupReport, *TEAM_ERRORS, 409, 502
    ),
)
def verify_shopify(tenant: TenantId) -> Response[ShopifySetupReport]:
    """List the app's webhook subscriptions on the shop, register missing orders/create and orders/updated here, report the rest."""
    environment = get_environment()
    event = cast(APIGatewayProxyEventV2, router.current_event)  # the HTTP API's payload 2.0 (APIGatewayHttpResolver)
    domain = event.request_context.domain_name or ""
    url = shopify_setup.webhook_url(tenant, environment.public_api_url, domain)
    report = shopify_setup.verify(services.tenants(), shopify_setup.client_factory_from(environment), tenant, url)
    return Response(200, content_types.APPLICATION_JSON, report, headers=NO_STORE)


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
    """Verify the state (once), exchange the code, store the tokens and start importing history; a bad state is 400."""
    # Here, not at the top: the import wing brings both stores' API clients, which the other routes never use.
    from ordertrail.connections import oauth
    from ordertrail.imports import history

    now, environment = services.now(), get_environment()
    connection = oauth.complete(_connector(), code, state, now)
    days = environment.import_on_connect_days
    started = history.import_on_connect(services.repository(), services.import_launcher, services.tenants(), connection.tenant, days, now)
    shop = html.escape(connection.shop_name or connection.shop_id)
    importing = (
        f"<p>Its orders of the last {days} days are being imported (import <code>{html.escape(started.import_id)}</code>).</p>"
        if started is not None
        else ""
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TikTok Shop connected</title></head>'
        f"<body><h1>TikTok Shop connected</h1><p>OrderTrail now reads the orders of {shop}.</p>{importing}"
        "<p>You can close this page.</p></body></html>"
    )
    return Response(200, "text/html; charset=utf-8", page, headers=NO_STORE)
