"""Each webhook kind is de-duplicated on its own natural id, even when several kinds share one warm Lambda."""

from __future__ import annotations

import json

import responses

from ordertrail_local.template import repo_root
from tests.integration.senders import get_order, notification, send_shopify_webhook, send_tiktok_webhook, serve_tiktok_orders

CONTRACT = repo_root() / "events" / "contract"


def test_shopify_orders_keep_their_own_ids_after_a_tiktok_notification(pipeline) -> None:  # type: ignore[no-untyped-def]
    """Given a TikTok Shop notification handled first in this container, when two different Shopify orders arrive,
    then both are stored (each idempotent function keys on its own natural id, not on the first one's)."""
    tiktok_orders = json.loads((CONTRACT / "tiktok_order_detail_response.json").read_text())["data"]["orders"]
    with responses.RequestsMock() as mock:
        serve_tiktok_orders(mock, tiktok_orders[:1])
        assert send_tiktok_webhook(pipeline, "acme", notification(tiktok_orders[0]["id"], "n-1")).status == 200
    shopify_order = json.loads((CONTRACT / "shopify_order.json").read_text())
    for order_id in (7001, 7002):
        assert send_shopify_webhook(pipeline, "acme", {**shopify_order, "id": order_id}).status == 200
    assert get_order(pipeline, "acme", "7001").status == 200
    assert get_order(pipeline, "acme", "7002").status == 200


def test_a_repeated_tiktok_notification_fetches_the_order_once(pipeline) -> None:  # type: ignore[no-untyped-def]
    """Given the same notification delivered three times, then TikTok Shop's API is called once."""
    tiktok_orders = json.loads((CONTRACT / "tiktok_order_detail_response.json").read_text())["data"]["orders"]
    with responses.RequestsMock() as mock:
        serve_tiktok_orders(mock, tiktok_orders[:1])
        for _ in range(3):
            assert send_tiktok_webhook(pipeline, "acme", notification(tiktok_orders[0]["id"], "n-7")).status == 200
        assert len(mock.calls) == 1
