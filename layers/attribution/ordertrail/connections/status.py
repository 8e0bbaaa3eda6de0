"""The connections view (status, token expiry, shop, last error: never a token) and disconnecting a TikTok Shop."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ordertrail.core.errors import Conflict
from ordertrail.storage.connections import TIKTOK_SHOP, Connection
from ordertrail.storage.tenant_secrets import SecretChange

if TYPE_CHECKING:
    from ordertrail.connections.connector import Connector

SHOPIFY = "shopify"
ViewStatus = Literal["connected", "needs_reauthorization", "disconnected", "not_connected"]
# The secret's token fields a disconnect clears; the app's key, secret and service id and the shop stay.
TOKEN_FIELDS = {"access_token": "", "refresh_token": "", "access_token_expires_at": 0, "refresh_token_expires_at": 0}
DISCONNECT_LEASE_SECONDS = 30


class ConnectionView(BaseModel):
    """One store connection as the team sees it (docs/api.md#connections): no token, only when each expires."""

    model_config = ConfigDict(extra="forbid")

    store: str = Field(description="The store: `tiktok_shop` or `shopify`")
    status: ViewStatus = Field(description="connected, needs_reauthorization (authorize again), disconnected or not_connected")
    app_configured: bool = Field(
        description="Whether the tenant's secret holds the store's app: TikTok Shop's key, secret and service id; Shopify's section"
    )
    shop_id: str | None = None
    shop_name: str | None = None
    shop_region: str | None = None
    access_token_expires_at: datetime | None = Field(default=None, description="When the access token expires (it is refreshed before)")
    refresh_token_expires_at: datetime | None = Field(default=None, description="When the refresh token expires (then authorize again)")
    connected_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    last_error: str | None = Field(default=None, description="What went wrong last, e.g. TikTok refused the refresh token")
    pending_orders: int = Field(
        default=0, description="Orders TikTok notified whose detail is still to be fetched (docs/operations.md#order-hints)"
    )
    oldest_pending_since: datetime | None = Field(default=None, description="When the longest-waiting of them was first notified")
    pending_error: str | None = Field(default=None, description="Why the longest-waiting order's last fetch failed")
    last_order_received_at: datetime | None = Field(
        default=None, description="When the store's last order webhook arrived (to within 5 minutes); absent before the first"
    )


class ConnectionsView(BaseModel):
    """The tenant's store connections."""

    connections: list[ConnectionView]


def _at(seconds: int) -> datetime | None:
    """A Unix time as UTC, None for 0 (not known)."""
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def view_of(connection: Connection | None, app_configured: bool) -> ConnectionView:
    """The team's view of one TikTok Shop connection (or of none yet)."""
    if connection is None:
        return ConnectionView(store=TIKTOK_SHOP, status="not_connected", app_configured=app_configured)
    return ConnectionView(
        store=connection.store,
        status=connection.status,
        app_configured=app_configured,
        shop_id=connection.shop_id or None,
        shop_name=connection.shop_name or None,
        shop_region=connection.shop_region or None,
        access_token_expires_at=_at(connection.access_token_expires_at),
        refresh_token_expires_at=_at(connection.refresh_token_expires_at),
        connected_at=connection.connected_at,
        last_refreshed_at=connection.last_refreshed_at,
        last_error=connection.last_error,
    )


def _app_configured(connector: Connector, tenant: str) -> bool:
    """Whether the tenant could connect a TikTok Shop (its app is in the secret)."""
    # Here, not at the top: the connector brings TikTok Shop's token client, and the caller that made `connector` loaded it.
    from ordertrail.connections.connector import tiktok_shop_app

    try:
        tiktok_shop_app(connector.directory, tenant)
    except Conflict:
        return False
    return True


def connections(connector: Connector, tenant: str) -> ConnectionsView:
    """Every store connection of the tenant (TikTok Shop; Shopify when the secret has it): status, expiry, shop, last error, pending."""
    stored = {connection.store: connection for connection in connector.records.list_connections(tenant)}
    view = view_of(stored.get(TIKTOK_SHOP), _app_configured(connector, tenant))
    pending = sorted((h for h in connector.records.pending_hints(tenant) if h.source == TIKTOK_SHOP), key=lambda h: h.first_notified_at)
    if pending:
        oldest = pending[0]
        view = view.model_copy(
            update={
                "pending_orders": len(pending),
                "oldest_pending_since": datetime.fromisoformat(oldest.first_notified_at) if oldest.first_notified_at else None,
                "pending_error": oldest.last_error,
            }
        )
    views = [view]
    secrets = connector.directory.get(tenant)
    shopify = secrets.shopify if secrets is not None else None
    if shopify is not None:
        # Shopify has no OAuth here: connected means the secret names the shop and holds its Admin API token (verify checks them).
        connected = bool(shopify.admin_access_token and shopify.shop_domain)
        views.append(
            ConnectionView(
                store=SHOPIFY,
                status="connected" if connected else "not_connected",
                app_configured=True,
                shop_name=shopify.shop_domain or None,
            )
        )
    received = connector.records.last_orders_received(tenant)
    return ConnectionsView(connections=[v.model_copy(update={"last_order_received_at": received.get(v.store)}) for v in views])


def disconnect(connector: Connector, tenant: str, now: datetime) -> ConnectionView:
    """Remove the shop's tokens from the secret (app credentials and all data kept) and mark the connection disconnected.

    Authorizing again (GET .../authorize) reconnects and resumes. A refresh running now holds the lease: 409, retry.
    """
    from ordertrail.connections.connector import tiktok_shop_app  # loaded with `connector`, as in _app_configured

    tiktok_shop_app(connector.directory, tenant)
    records, holder, at = connector.records, uuid.uuid4().hex, int(now.timestamp())
    if not records.take_connection_lease(tenant, TIKTOK_SHOP, holder, at, DISCONNECT_LEASE_SECONDS):
        raise Conflict("a token refresh of this connection is running: retry in a minute", code="connection_busy")
    try:
        connector.directory.update(tenant, _without_tokens())
        previous = records.get_connection(tenant)
        base = previous or Connection(tenant=tenant, status="disconnected", updated_at=now)
        disconnected = base.model_copy(
            update={
                "status": "disconnected",
                "access_token_expires_at": 0,
                "refresh_token_expires_at": 0,
                "last_error": None,
                "updated_at": now,
            }
        )
        records.save_connection(disconnected)
    finally:
        records.release_connection_lease(tenant, TIKTOK_SHOP, holder)
    return view_of(disconnected, app_configured=True)


def _without_tokens() -> SecretChange:
    """The change that clears the TikTok Shop tokens from the tenant's secret and keeps everything else."""

    def change(config: dict[str, Any]) -> Mapping[str, Any]:
        return {**config, "tiktok_shop": {**dict(config.get("tiktok_shop") or {}), **TOKEN_FIELDS}}

    return change
