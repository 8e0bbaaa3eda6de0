"""Connecting a TikTok Shop: the redirect to the seller's authorization page, and the callback that completes it.

The flow is docs/operations.md#connect-a-shop; TikTok's endpoints are in docs/decisions/2026-12-02-tiktok-shop-oauth.md.
The tokens go into the tenant's secret only; the table keeps when they expire (docs/data-model.md#access-patterns).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ordertrail.connections.connector import Connector, tiktok_shop_app
from ordertrail.core.errors import Conflict, MalformedRequest
from ordertrail.sources.tiktok_shop_auth import (
    AuthCodeRejected,
    AuthorizedShop,
    InvalidState,
    TokenGrant,
    authorization_url,
    mint_state,
    read_state,
    verify_state,
)
from ordertrail.storage.connections import TIKTOK_SHOP, Connection
from ordertrail.storage.tenant_secrets import SecretChange


def start(connector: Connector, tenant: str, now: datetime) -> str:
    """The seller's authorization page for this tenant's TikTok Shop app, with a fresh signed state (409 without an app)."""
    app = tiktok_shop_app(connector.directory, tenant)
    state = mint_state(tenant, app.app_secret, now.timestamp(), connector.state_ttl_seconds)
    return authorization_url(connector.authorize_url, app.service_id, state)


def _refused_state(problem: str) -> MalformedRequest:
    """The 400 for a state the callback must refuse, naming `state` (and why)."""
    reasons = {
        "missing": "state is missing: start the authorization again",
        "malformed": "state is not an OrderTrail authorization state",
        "forged": "state is not signed by this tenant's TikTok Shop app",
        "expired": "state has expired: start the authorization again",
        "reused": "state was already used: start the authorization again",
    }
    return MalformedRequest(reasons[problem], field="state", code=f"{problem}_state")


def complete(connector: Connector, code: str | None, state: str | None, now: datetime) -> Connection:
    """Verify the state, use its nonce once, exchange the code, read the shop and store the tokens: the connection is connected.

    A refused state or code changes nothing (400 naming `state` or `code`); TikTok failing is a 502 (UpstreamError).
    """
    if not state:
        raise _refused_state("missing")
    try:
        tenant = read_state(state).tenant
        directory_entry = connector.directory.get(tenant)
        app = directory_entry.tiktok_shop if directory_entry is not None else None
        if app is None or not app.app_secret:
            raise InvalidState("forged", "no TikTok Shop app can have signed this state")
        payload = verify_state(state, app.app_secret, now.timestamp())
    except InvalidState as refused:
        raise _refused_state(refused.problem) from None
    if not code:
        raise MalformedRequest("code is missing: the seller did not authorize the app; start again", field="code", code="missing_code")
    if not connector.records.use_oauth_nonce(tenant, payload.nonce, payload.expires_at):
        raise _refused_state("reused")
    try:
        grant = connector.auth.get_token(app.app_key, app.app_secret, code)
    except AuthCodeRejected:
        raise MalformedRequest(
            "code was refused by TikTok Shop (invalid, expired or used): start again", field="code", code="invalid_code"
        ) from None
    shops = connector.auth.authorized_shops(app.app_key, app.app_secret, grant.access_token.get_secret_value())
    shop = _chosen_shop(shops, app.shop_id)
    connector.directory.update(tenant, _store_tokens(grant, shop))
    previous = connector.records.get_connection(tenant)
    connection = Connection(
        tenant=tenant,
        store=TIKTOK_SHOP,
        status="connected",
        shop_id=shop.id,
        shop_name=shop.name,
        shop_region=shop.region,
        access_token_expires_at=grant.access_token_expire_in,
        refresh_token_expires_at=grant.refresh_token_expire_in,
        connected_at=previous.connected_at if previous is not None and previous.status == "connected" else now,
        last_refreshed_at=now,
        updated_at=now,
    )
    connector.records.save_connection(connection)
    # Orders whose fetch waited on a refused token are fetched now, not at their next back-off.
    connector.records.wake_pending_hints(tenant, now)
    return connection


def _chosen_shop(shops: list[AuthorizedShop], known_shop_id: str) -> AuthorizedShop:
    """The shop this tenant connects: the one it had before if the seller authorized it again, else the first."""
    if not shops:
        raise Conflict("TikTok Shop authorized no shop for this app: the seller must authorize a shop", code="no_authorized_shop")
    return next((shop for shop in shops if known_shop_id and shop.id == known_shop_id), shops[0])


def _store_tokens(grant: TokenGrant, shop: AuthorizedShop) -> SecretChange:
    """The change that writes the new tokens, their expiries and the shop into the tenant's secret (app credentials kept)."""

    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        app = dict(config.get("tiktok_shop") or {})
        app.update(
            access_token=grant.access_token.get_secret_value(),
            refresh_token=grant.refresh_token.get_secret_value(),
            access_token_expires_at=grant.access_token_expire_in,
            refresh_token_expires_at=grant.refresh_token_expire_in,
            shop_id=shop.id,
            shop_name=shop.name,
            shop_cipher=shop.cipher,
        )
        return {**config, "tiktok_shop": app}

    return change
