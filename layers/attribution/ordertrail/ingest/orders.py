"""Order ingestion: verify the sender, normalise the store's payload, store the latest state (each webhook once)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ordertrail.api import auth
from ordertrail.api.json_body import parse_json
from ordertrail.core.errors import BODY_TYPE, MalformedRequest, Unprocessable, from_validation
from ordertrail.core.models import Order
from ordertrail.core.responses import BatchResult, Received
from ordertrail.ingest import order_activity
from ordertrail.ingest.signed_batches import signed_batch
from ordertrail.ingest.stored_orders import SHOPIFY, TIKTOK_SHOP, store_order
from ordertrail.runtime.observability import metrics
from ordertrail.sources import signatures, signed_payloads
from ordertrail.storage.idempotency import once_per

if TYPE_CHECKING:
    from ordertrail.core.environment import Environment
    from ordertrail.storage.repository import Repository
    from ordertrail.storage.tenant_secrets import TenantDirectory, TenantSecrets

SHOPIFY_ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled"})


def tiktok_shop_webhook(
    repo: Repository, directory: TenantDirectory, tenant: str, raw: bytes, headers: Mapping[str, str], now: datetime
) -> Received:
    """A TikTok Shop push: verify it; an order status change is stored as the hint to fetch that order (once per notification)."""
    from ordertrail.sources import tiktok_shop  # on first use: each store's payload models serve that store's webhook alone

    def verify(secrets: TenantSecrets) -> None:
        assert secrets.tiktok_shop is not None
        signatures.verify_tiktok_webhook(
            secrets.tiktok_shop.app_key, secrets.tiktok_shop.app_secret, raw, auth.header(headers, "Authorization")
        )

    auth.require_signed(directory, tenant, verify, lambda s: s.tiktok_shop is not None, "TikTok Shop app")
    body = parse_json(raw)
    try:
        notification = tiktok_shop.parse_notification(body)
    except ValidationError as exc:
        raise from_validation(exc) from exc
    try:
        change = tiktok_shop.order_status_change(notification)
    except ValidationError as exc:
        raise from_validation(exc, prefix="data") from exc
    if change is None:
        return Received(ignored=f"notification type {notification.type}")
    order_activity.recorder().note(repo, tenant, TIKTOK_SHOP, now)
    return Received.model_validate(
        _record_tiktok_hint(
            request={
                "tenant": tenant,
                "notification_id": notification.tts_notification_id,
                "order_id": change.order_id,
                "received_at": now.isoformat(),
            },
            repo=repo,
        )
    )


@once_per("[tenant, notification_id]")
def _record_tiktok_hint(*, request: dict[str, Any], repo: Repository) -> dict[str, Any]:
    """The notification is a hint: store it first (FetchOrderFunction fetches the order's detail), answer at once."""
    at = datetime.fromisoformat(request["received_at"])
    repo.record_hint(request["tenant"], TIKTOK_SHOP, request["order_id"], request["notification_id"], at)
    metrics.add_metric(name="OrderHintsRecorded", unit="Count", value=1)
    return {"received": True, "queued": request["order_id"]}


def shopify_webhook(
    repo: Repository, directory: TenantDirectory, tenant: str, raw: bytes, headers: Mapping[str, str], now: datetime
) -> Received:
    """A Shopify order webhook: verify the HMAC, normalise and store (once per order version)."""
    from ordertrail.sources import shopify  # on first use, as in tiktok_shop_webhook

    def verify(secrets: TenantSecrets) -> None:
        assert secrets.shopify is not None
        signatures.verify_shopify_webhook(secrets.shopify.client_secret, raw, auth.header(headers, "X-Shopify-Hmac-Sha256"))

    auth.require_signed(directory, tenant, verify, lambda s: s.shopify is not None, "Shopify app")
    topic = (auth.header(headers, "X-Shopify-Topic") or "orders/create").lower()
    if topic not in SHOPIFY_ORDER_TOPICS:
        return Received(ignored=f"topic {topic}")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise MalformedRequest("a Shopify order webhook carries an order object", code=BODY_TYPE)
    try:
        order = shopify.normalise_order(body, auth.header(headers, "X-Shopify-Shop-Domain"))
    except ValidationError as exc:
        raise from_validation(exc) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise Unprocessable(f"the Shopify order cannot be read: {exc}", code="invalid_order") from exc
    order_activity.recorder().note(repo, tenant, SHOPIFY, now)
    return Received.model_validate(
        _store_shopify_order(
            request={
                "tenant": tenant,
                "order_id": order.id,
                "updated_at": order.updated_at.isoformat(),
                "order": order.model_dump(mode="json"),
                "received_at": now.isoformat(),
            },
            repo=repo,
        )
    )


@once_per("[tenant, order_id, updated_at]")
def _store_shopify_order(*, request: dict[str, Any], repo: Repository) -> dict[str, Any]:
    """Store one version of a Shopify order (delivery is at-least-once)."""
    order = Order.model_validate(request["order"])
    store_order(repo, request["tenant"], order, datetime.fromisoformat(request["received_at"]))
    return {"received": True}


def signed_orders(
    repo: Repository,
    directory: TenantDirectory,
    environment: Environment,
    tenant: str,
    raw: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> BatchResult:
    """Our signed normalised orders (one or a batch): store the valid ones, report the rest by index."""
    parsed = signed_batch(directory, environment, tenant, raw, headers, signed_payloads.parse_orders)
    outcomes = [store_order(repo, tenant, order, now) for _, order in parsed.items]
    return BatchResult(accepted=outcomes.count("stored"), duplicates=outcomes.count("stale"), errors=parsed.errors)
