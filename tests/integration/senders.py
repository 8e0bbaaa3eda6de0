"""Signed requests as each platform sends them, for integration tests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import responses

from ordertrail.sources.signatures import sign_ordertrail, sign_shopify_webhook, sign_tiktok_webhook
from ordertrail.storage.table import unpacked
from tests.conftest import TENANTS, Pipeline

TIKTOK_API = "https://tiktok-shop.test"
TIKTOK_ORDERS_URL = f"{TIKTOK_API}/order/202309/orders"


def body_bytes(payload: Any) -> bytes:
    """Compact JSON bytes, exactly what gets signed."""
    return json.dumps(payload, separators=(",", ":")).encode()


def send_touchpoints(api: Pipeline, tenant: str, payload: Any, signer: str | None = None, at: int | None = None) -> Any:
    """POST /touchpoints signed with `signer`'s touchpoint secret (default: the tenant's own)."""
    raw = body_bytes(payload)
    secret = TENANTS[signer or tenant]["touchpoint_secret"]
    headers = {"Content-Type": "application/json", "X-OrderTrail-Signature": sign_ordertrail(secret, raw, at or int(time.time()))}
    return api.call("POST", f"/v1/{tenant}/touchpoints", raw, headers)


def send_orders(api: Pipeline, tenant: str, payload: Any, signer: str | None = None, at: int | None = None) -> Any:
    """POST /orders signed like touchpoints."""
    raw = body_bytes(payload)
    secret = TENANTS[signer or tenant]["touchpoint_secret"]
    headers = {"Content-Type": "application/json", "X-OrderTrail-Signature": sign_ordertrail(secret, raw, at or int(time.time()))}
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


def send_shopify_webhook(
    api: Pipeline,
    tenant: str,
    order: dict[str, Any],
    topic: str = "orders/create",
    signer: str | None = None,
    shop_domain: str | None = None,
) -> Any:
    """POST /webhooks/shopify with Shopify's base64 HMAC (signed with `signer`'s client secret, default the tenant's)."""
    raw = body_bytes(order)
    secret = TENANTS[signer or tenant]["shopify"]["client_secret"]
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": sign_shopify_webhook(secret, raw),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": f"wh-{order['id']}-{order.get('updated_at', '')}",
    }
    if shop_domain:
        headers["X-Shopify-Shop-Domain"] = shop_domain
    return api.call("POST", f"/v1/{tenant}/webhooks/shopify", raw, headers)


def send_signed_raw(api: Pipeline, tenant: str, route: str, raw: bytes) -> Any:
    """POST these exact bytes to an ingest route ("orders", "touchpoints", "webhooks/tiktok-shop", "webhooks/shopify"),
    correctly signed for the tenant the way that route's sender signs."""
    secrets = TENANTS[tenant]
    headers = {"Content-Type": "application/json"}
    if route in ("orders", "touchpoints"):
        headers["X-OrderTrail-Signature"] = sign_ordertrail(secrets["touchpoint_secret"], raw, int(time.time()))
    elif route == "webhooks/tiktok-shop":
        headers["Authorization"] = sign_tiktok_webhook(secrets["tiktok_shop"]["app_key"], secrets["tiktok_shop"]["app_secret"], raw)
    elif route == "webhooks/shopify":
        headers["X-Shopify-Hmac-Sha256"] = sign_shopify_webhook(secrets["shopify"]["client_secret"], raw)
        headers["X-Shopify-Topic"] = "orders/create"
    else:
        raise ValueError(f"not an ingest route: {route}")
    return api.call("POST", f"/v1/{tenant}/{route}", raw, headers)


def serve_tiktok_orders(mock: responses.RequestsMock, orders: list[dict[str, Any]]) -> None:
    """Answer TikTok Shop's Get Order Detail with these orders (replacing what it answered before)."""
    mock.upsert(responses.GET, TIKTOK_ORDERS_URL, json={"code": 0, "message": "Success", "request_id": "r1", "data": {"orders": orders}})


def api_key(tenant: str) -> dict[str, str]:
    """The team's Authorization header."""
    return {"Authorization": f"Bearer {TENANTS[tenant]['api_keys'][0]}"}


def get_order(api: Pipeline, tenant: str, order_id: str, key_of: str | None = None, source: str | None = None) -> Any:
    """GET /orders/{id} with a team key."""
    return api.call("GET", f"/v1/{tenant}/orders/{order_id}", headers=api_key(key_of or tenant), query=f"source={source}" if source else "")


# -------------------------------------------------------------------------------------------- builders
def moment(days_ago: float = 2.0) -> datetime:
    """A recent whole-second UTC time (recent, so nothing is past its window or TTL when the test runs)."""
    return (datetime.now(UTC) - timedelta(days=days_ago)).replace(microsecond=0)


def iso(ts: datetime) -> str:
    """RFC 3339 with an offset."""
    return ts.isoformat()


def comment(tp_id: str, user: str, at: datetime, post: str = "v1", keywords: tuple[str, ...] = ("LINK",)) -> dict[str, Any]:
    """A comment touchpoint on `post`."""
    return {
        "id": tp_id,
        "kind": "comment",
        "occurred_at": iso(at),
        "buyer": {"user_id": user},
        "post": {"id": post, "url": f"https://www.tiktok.com/@acme/video/{post}"},
        "text": "LINK please",
        "keywords": list(keywords),
    }


def dm(tp_id: str, user: str, at: datetime, conversation: str, comment_id: str | None = None) -> dict[str, Any]:
    """A DM touchpoint opening `conversation` from a comment."""
    return {
        "id": tp_id,
        "kind": "dm",
        "occurred_at": iso(at),
        "buyer": {"user_id": user},
        "conversation_id": conversation,
        "comment_id": comment_id,
        "flow": {"id": "f1", "name": "Glow flow"},
    }


def shop_link(tp_id: str, user: str, at: datetime, conversation: str, skus: tuple[str, ...] = ("SKU-1",)) -> dict[str, Any]:
    """A shop link sent in `conversation`, linking `skus`."""
    return {
        "id": tp_id,
        "kind": "shop_link",
        "occurred_at": iso(at),
        "buyer": {"user_id": user},
        "conversation_id": conversation,
        "skus": list(skus),
        "url": "https://shop.tiktok.com/view/product/1",
    }


def ad_click(tp_id: str, user: str, at: datetime, ttclid: str) -> dict[str, Any]:
    """An ad click touchpoint."""
    return {"id": tp_id, "kind": "ad_click", "occurred_at": iso(at), "buyer": {"user_id": user}, "ttclid": ttclid}


def journey(
    user: str, at: datetime, conversation: str = "conv-1", skus: tuple[str, ...] = ("SKU-1",), prefix: str = ""
) -> list[dict[str, Any]]:
    """Comment → DM → shop link, one minute apart, starting at `at`."""
    return [
        comment(f"{prefix}c-{user}", user, at),
        dm(f"{prefix}d-{user}", user, at + timedelta(minutes=1), conversation, f"{prefix}c-{user}"),
        shop_link(f"{prefix}s-{user}", user, at + timedelta(minutes=2), conversation, skus),
    ]


def order(
    order_id: str, user: str | None, at: datetime, skus: tuple[str, ...] = ("SKU-1",), updated_at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    """A normalised order for POST /orders (source "other" unless `extra` says otherwise)."""
    return {
        "id": order_id,
        "source": "other",
        "status": "paid",
        "created_at": iso(at),
        "updated_at": iso(updated_at or at),
        "buyer": {"user_id": user} if user else {},
        "currency": "USD",
        "line_items": [{"sku": sku, "quantity": 1, "unit_price": "12.00"} for sku in skus],
        "subtotal": f"{12 * len(skus)}.00",
        "total": f"{12 * len(skus)}.00",
        **extra,
    }


def tiktok_order(order_id: str, user: str, created: datetime, updated: datetime, status: str = "AWAITING_SHIPMENT") -> dict[str, Any]:
    """A Get Order Detail order as TikTok Shop returns it (one unit per line item, Unix-second times)."""
    return {
        "id": order_id,
        "status": status,
        "user_id": user,
        "buyer_email": "v2x8f3k9q1b7aa@scs.tiktokw.us",
        "create_time": int(created.timestamp()),
        "paid_time": int(created.timestamp()) + 10,
        "update_time": int(updated.timestamp()),
        "line_items": [
            {
                "id": f"{order_id}1",
                "sku_id": "1729382256910270001",
                "product_id": "P1",
                "product_name": "Glow Lip Oil",
                "seller_sku": "SKU-1",
                "sale_price": "12.00",
                "original_price": "13.50",
                "currency": "USD",
            },
        ],
        "payment": {"currency": "USD", "sub_total": "12.00", "shipping_fee": "4.99", "tax": "1.00", "total_amount": "17.99"},
        "recipient_address": {"name": "J*** D***", "address_line1": "1** M*** St", "postal_code": "90012", "region_code": "US"},
    }


def shopify_order(order_id: int, at: datetime, landing_site: str | None = None, user: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Shopify orders/create body."""
    notes = [{"name": "tiktok_user_id", "value": user}] if user else []
    return {
        "id": order_id,
        "name": f"#{order_id % 10_000}",
        "email": "jane.doe@example.com",
        "created_at": iso(at),
        "updated_at": iso(at),
        "cancelled_at": None,
        "currency": "USD",
        "financial_status": "paid",
        "source_name": "web",
        "tags": "",
        "landing_site": landing_site,
        "note_attributes": notes,
        "subtotal_price": "24.00",
        "total_discounts": "0.00",
        "total_tax": "2.00",
        "total_price": "26.00",
        "discount_codes": [],
        "line_items": [{"sku": "SKU-1", "product_id": 111, "title": "Glow Lip Oil", "quantity": 2, "price": "12.00"}],
        **extra,
    }


# ---------------------------------------------------------------------------------------- team API
def team_call(api: Pipeline, method: str, tenant: str, rest: str, body: Any = None, query: str = "", key_of: str | None = None) -> Any:
    """A team API call on /v1/<tenant>/<rest> with `key_of`'s API key (default the tenant's)."""
    return api.call(method, f"/v1/{tenant}/{rest}", body, {**api_key(key_of or tenant), "Content-Type": "application/json"}, query)


def attribution_of(api: Pipeline, tenant: str, order_id: str, source: str | None = None) -> dict[str, Any]:
    """GET /orders/{id} and return its `attribution` (asserting the read succeeded)."""
    response = get_order(api, tenant, order_id, source=source)
    assert response.status == 200, response.body
    attribution: dict[str, Any] = response.json()["attribution"]
    assert attribution is not None, "the order was never attributed"
    return attribution


def evidence_of(attribution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The attribution's evidence by rule name."""
    return {outcome["rule"]: outcome for outcome in attribution["evidence"]}


VOLATILE = ("attributed_at", "expiration", "in_progress_expiration")


def stable_items(api: Pipeline) -> list[dict[str, Any]]:
    """The table's items with volatile fields (times of processing) removed, sorted by key; JSON `data` parsed."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    items = []
    for item in api.items():
        data = item.get("data")
        if data is not None and not isinstance(data, str):
            data = unpacked(data)  # a packed attribute (a conversion's), compared as its JSON
        if isinstance(data, str) and data.startswith("{"):
            item = {**item, "data": json.loads(data)}
        items.append(clean(item))
    return sorted(items, key=lambda i: (i["PK"], i.get("SK", "")))
