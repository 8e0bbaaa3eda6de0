"""Signed requests as each platform sends them, for integration tests."""

from __future__ import annotations

import json
import time
from typing import Any

import responses

from ordertrail.sources.signatures import sign_ordertrail, sign_shopify_webhook, sign_tiktok_webhook
from tests.conftest import TENANTS, Pipeline

TIKTOK_API = "https://tiktok-shop.test"


def body_bytes(payload: Any) -> bytes:
    """Compact JSON bytes, exactly what gets signed."""
    return json.dumps(payload, separators=(",", ":")).encode()


def send_touchpoints(api: Pipeline, tenant: str, payload: Any, signer: str | None = None, at: int | None = None) -> Any:
    """POST /touchpoints signed with `signer`'s touchpoint secret (default: the tenant's own)."""
    raw = body_bytes(payload)
    secret = TENANTS[signer or tenant]["touchpoint_secret"]
    headers = {"Content-Type": "application/json", "X-OrderTrail-Signature": sign_ordertrail(secret, raw, at or int(time.time()))}
    return api.call("POST", f"/v1/{tenant}/touchpoints", raw, headers)


def send_orders(api: Pipeline, tenant: str, payload: Any, signer: str | None = None) -> Any:
    """POST /orders signed like touchpoints."""
    raw = body_bytes(payload)
    secret = TENANTS[signer or tenant]["touchpoint_secret"]
    headers = {"Content-Type": "application/json", "X-OrderTrail-Signature": sign_ordertrail(secret, raw, int(time.time()))}
    return api.call("POST", f"/v1/{tenant}/orders", raw, headers)


def notification(
    order_id: str, notification_id: str, status: str = "AWAITING_SHIPMENT", update_time: int = 1_763_900_000
) -> dict[str, Any]:
    """A TikTok Shop order status change (type 1)."""
    return {
        "type": 1,
        "tts_notification_id": notification_id,
        "shop_id": "7495540735365777507",
        "timestamp": update_time,
        "data": {"order_id": order_id, "order_status": status, "is_on_hold_order": False, "update_time": update_time},
    }


def send_tiktok_webhook(api: Pipeline, tenant: str, payload: dict[str, Any], signer: str | None = None) -> Any:
    """POST /webhooks/tiktok-shop with TikTok's Authorization signature."""
    raw = body_bytes(payload)
    shop = TENANTS[signer or tenant]["tiktok_shop"]
    headers = {"Content-Type": "application/json", "Authorization": sign_tiktok_webhook(shop["app_key"], shop["app_secret"], raw)}
    return api.call("POST", f"/v1/{tenant}/webhooks/tiktok-shop", raw, headers)


def send_shopify_webhook(api: Pipeline, tenant: str, order: dict[str, Any], topic: str = "orders/create") -> Any:
    """POST /webhooks/shopify with Shopify's base64 HMAC."""
    raw = body_bytes(order)
    secret = TENANTS[tenant]["shopify"]["client_secret"]
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": sign_shopify_webhook(secret, raw),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": f"wh-{order['id']}-{order.get('updated_at', '')}",
    }
    return api.call("POST", f"/v1/{tenant}/webhooks/shopify", raw, headers)


def serve_tiktok_orders(mock: responses.RequestsMock, orders: list[dict[str, Any]]) -> None:
    """Answer TikTok Shop's Get Order Detail with these orders."""
    mock.get(f"{TIKTOK_API}/order/202309/orders", json={"code": 0, "message": "Success", "request_id": "r1", "data": {"orders": orders}})


def api_key(tenant: str) -> dict[str, str]:
    """The team's Authorization header."""
    return {"Authorization": f"Bearer {TENANTS[tenant]['api_keys'][0]}"}


def get_order(api: Pipeline, tenant: str, order_id: str, key_of: str | None = None, source: str | None = None) -> Any:
    """GET /orders/{id} with a team key."""
    return api.call("GET", f"/v1/{tenant}/orders/{order_id}", headers=api_key(key_of or tenant), query=f"source={source}" if source else "")
