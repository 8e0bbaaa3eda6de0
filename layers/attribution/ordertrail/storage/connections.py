"""Store connections: one item per tenant and store (status, shop, token expiry times, last error), refresh leases, OAuth nonces.

No token is ever written here: the tokens live in the tenant's secret (docs/operations.md#secrets). A connected
connection carries GSI1 keys ordered by its access token's expiry, so the refresh schedule reads only what is due
(docs/data-model.md#access-patterns).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ordertrail.storage import keys
from ordertrail.storage.table import Table, deserialize, serialize

ConnectionStatus = Literal["connected", "needs_reauthorization", "disconnected"]
TIKTOK_SHOP = "tiktok_shop"
# A used state nonce is remembered a little past the state's own expiry (DynamoDB's TTL only tidies up).
NONCE_GRACE_SECONDS = 3600


class Connection(BaseModel):
    """A tenant's connection to one store, as stored: never a token, only when the tokens expire."""

    model_config = ConfigDict(extra="ignore")

    tenant: str
    store: str = TIKTOK_SHOP
    status: ConnectionStatus
    shop_id: str = ""
    shop_name: str = ""
    shop_region: str = ""
    # Unix seconds, as TikTok gives them; 0 = not known.
    access_token_expires_at: int = Field(default=0, ge=0)
    refresh_token_expires_at: int = Field(default=0, ge=0)
    connected_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime


class ConnectionLease(BaseModel):
    """Who holds a connection's refresh lease, and until when (Unix seconds)."""

    holder: str
    expires_at: int


class ConnectionRecords(Table):
    """Connections, their refresh leases and used OAuth state nonces."""

    def get_connection(self, tenant: str, store: str = TIKTOK_SHOP) -> Connection | None:
        """One connection (consistent: a refresher checks it right after taking the lease)."""
        key = serialize(keys.connection_key(tenant, store))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return Connection.model_validate_json(deserialize(item)["data"]) if item else None

    def list_connections(self, tenant: str) -> list[Connection]:
        """Every store connection of a tenant: one Query on its connections partition."""
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :store)",
            ExpressionAttributeValues=serialize({":pk": keys.connections_pk(tenant), ":store": "STORE#"}),
            ConsistentRead=True,
        )
        return [Connection.model_validate_json(item["data"]) for item in items]

    def note_order_received(self, tenant: str, store: str, at: datetime) -> None:
        """Move the store's last-order-received time forward (an older time, e.g. a slower instance's, changes nothing)."""
        self._write_if(
            "put_item",
            Item=serialize({**keys.order_activity_key(tenant, store), "type": "order_activity", "last_order_at": keys.iso(at)}),
            ConditionExpression="attribute_not_exists(PK) OR last_order_at < :at",
            ExpressionAttributeValues=serialize({":at": keys.iso(at)}),
        )

    def last_orders_received(self, tenant: str) -> dict[str, datetime]:
        """When each store's last order webhook arrived (within a few minutes): one Query."""
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :activity)",
            ExpressionAttributeValues=serialize({":pk": keys.connections_pk(tenant), ":activity": "ACTIVITY#"}),
        )
        return {
            item["SK"].removeprefix("ACTIVITY#"): datetime.fromisoformat(item["last_order_at"].replace("Z", "+00:00")) for item in items
        }

    def save_connection(self, connection: Connection) -> None:
        """Replace a connection; a connected one is also placed in the refresh schedule by its access token's expiry (same write)."""
        item: dict[str, Any] = {
            **keys.connection_key(connection.tenant, connection.store),
            "type": "connection",
            "status": connection.status,
            "data": connection.model_dump_json(exclude_none=True),
        }
        if connection.status == "connected" and connection.access_token_expires_at > 0:
            item.update(keys.connection_due_gsi(connection.tenant, connection.store, connection.access_token_expires_at))
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    def due_connections(self, store: str, until: int, limit: int | None = None) -> list[Connection]:
        """Connected connections of every tenant whose access token expires by `until`, soonest first (one GSI1 Query: only those due)."""
        items = self._query(
            limit=limit,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK <= :until",
            ExpressionAttributeValues=serialize({":pk": keys.connections_due_pk(store), ":until": keys.connections_due_until(until)}),
        )
        return [Connection.model_validate_json(item["data"]) for item in items]

    def take_connection_lease(self, tenant: str, store: str, holder: str, now: int, ttl_seconds: int) -> bool:
        """Take the connection's refresh lease when it is free or expired; False while someone else holds it."""
        item = {
            **keys.connection_lease_key(tenant, store),
            "type": "connection_lease",
            "holder": holder,
            "expires_at": now + ttl_seconds,
            "ttl": now + ttl_seconds,  # the condition below decides expiry; TTL only tidies up
        }
        return self._write_if(
            "put_item",
            Item=serialize(item),
            ConditionExpression="attribute_not_exists(PK) OR expires_at < :now",
            ExpressionAttributeValues=serialize({":now": now}),
        )

    def get_connection_lease(self, tenant: str, store: str = TIKTOK_SHOP) -> ConnectionLease | None:
        """The connection's refresh lease as stored (it may have expired)."""
        key = serialize(keys.connection_lease_key(tenant, store))
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        return ConnectionLease.model_validate(deserialize(item)) if item else None

    def release_connection_lease(self, tenant: str, store: str, holder: str) -> bool:
        """Give the lease back if `holder` still holds it; False when it does not."""
        return self._write_if(
            "delete_item",
            Key=serialize(keys.connection_lease_key(tenant, store)),
            ConditionExpression="holder = :holder",
            ExpressionAttributeValues=serialize({":holder": holder}),
        )

    def use_oauth_nonce(self, tenant: str, nonce: str, state_expires_at: int) -> bool:
        """Record that a state's nonce was used; False when it already was (a state works once)."""
        item = {
            **keys.oauth_nonce_key(tenant, nonce),
            "type": "oauth_nonce",
            "ttl": state_expires_at + NONCE_GRACE_SECONDS,
        }
        return self._write_if("put_item", Item=serialize(item), ConditionExpression="attribute_not_exists(PK)")
