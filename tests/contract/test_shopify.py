"""Contract tests: Shopify orders/create|updated bodies normalised into Orders, webhook headers and connector copies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordertrail.sources.shopify import connector_copy_of, normalise_order, parse_webhook_headers

EVENTS = Path(__file__).resolve().parents[2] / "events" / "contract"


def load(name: str) -> dict[str, Any]:
    """Read a JSON fixture from events/contract."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def test_order_with_landing_path_carries_ttclid_coupon_and_cart_attributes() -> None:
    """Given an orders/create body whose landing_site is a path with ttclid, when normalised, then landing, coupon and buyer are set."""
    order = normalise_order(load("shopify_order.json"))

    assert order.id == "5678901234567"
    assert order.source == "shopify"
    assert order.status == "paid"
    assert order.created_at == datetime(2024, 6, 13, 14, 5, 12, tzinfo=timezone(timedelta(hours=-4)))
    assert order.ordered_at == datetime(2024, 6, 13, 18, 5, 12, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 6, 13, 18, 5, 14, tzinfo=UTC)
    assert order.landing.url == "/products/glow-lip-oil?ttclid=E.C.P.CqYBabc123&utm_source=tiktok&utm_campaign=spring_launch"
    assert order.landing.ttclid == "E.C.P.CqYBabc123"
    assert (order.landing.utm_source, order.landing.utm_campaign, order.landing.ref) == ("tiktok", "spring_launch", None)
    assert (order.landing.creator, order.landing.link_id, order.landing.token) == ("maya", "lnk-123", "tok_9f8e7d")
    assert order.coupon_codes == ["MAYA15"]
    assert order.buyer.user_id == "7494012345678901234"
    assert (order.buyer.email, order.buyer.phone, order.buyer.name) == ("jane.doe@example.com", "+12133734253", "Jane Doe")
    assert [(li.sku, li.variant_id, li.product_id, li.name, li.quantity, li.unit_price) for li in order.line_items] == [
        ("LIPOIL-ROSE", "44123456789012", "8123456789012", "Glow Lip Oil", 2, Decimal("12.00")),
        ("BALM-MINT", "44123456789013", "8123456789013", "Mint Lip Balm", 1, Decimal("8.50")),
    ]
    assert sum(li.unit_price * li.quantity for li in order.line_items) == order.subtotal
    assert order.buyer.customer_id == "7012345678901"
    assert order.client is not None and order.client.ip == "203.0.113.42"
    assert order.client.user_agent is not None and order.client.user_agent.startswith("Mozilla/5.0 (iPhone;")
    assert (order.subtotal, order.tax, order.shipping, order.discounts, order.total) == (
        Decimal("32.50"),
        Decimal("2.28"),
        Decimal("4.99"),
        Decimal("4.88"),
        Decimal("34.89"),
    )
    # docs/api.md#order: subtotal is goods before discounts, so the total is what remains after them.
    assert order.subtotal + order.shipping + order.tax - order.discounts == order.total
    assert order.shipping_address is not None
    address = order.shipping_address
    assert (address.line1, address.line2, address.city, address.region, address.postal_code, address.country) == (
        "123 Main Street",
        "Apt. 4B",
        "Los Angeles",
        "CA",
        "90012-3401",
        "US",
    )
    assert order.connector_copy_of is None


def test_order_with_full_url_landing_reads_utm_and_ref_and_falls_back_to_stored_ttclid() -> None:
    """Given landing_site as a full URL without ttclid but a stored TTCLID note, then utm/ref come from the URL and ttclid from the note."""
    order = normalise_order(load("shopify_order_url_landing.json"))

    assert order.landing.url == "https://glow.example.com/collections/all?utm_source=tiktok&utm_campaign=creator_may&ref=maya"
    assert (order.landing.utm_source, order.landing.utm_campaign, order.landing.ref) == ("tiktok", "creator_may", "maya")
    assert order.landing.ttclid == "E.C.P.stored999"
    assert order.landing.creator == "maya"
    assert order.status == "pending"
    assert order.currency == "USD"
    assert order.created_at == datetime(2024, 6, 14, 9, 30, tzinfo=UTC)
    assert order.updated_at == order.created_at
    assert order.shipping == Decimal("6.99")
    assert order.coupon_codes == []
    assert order.buyer.user_id is None
    assert (order.buyer.email, order.buyer.phone) == ("sam@example.org", "+14155550123")
    assert order.shipping_address is not None
    assert order.shipping_address.country == "US"
    assert order.shipping_address.line2 is None
    assert order.connector_copy_of is None


def test_landing_ttclid_wins_over_a_stored_note_ttclid() -> None:
    """Given both a ttclid in landing_site and a stored ttclid note, then the landing one is used."""
    raw = load("shopify_order.json")
    raw["note_attributes"].append({"name": "ttclid", "value": "older"})
    assert normalise_order(raw).landing.ttclid == "E.C.P.CqYBabc123"


def test_cancelled_order_is_cancelled_whatever_the_financial_status() -> None:
    """Given cancelled_at is set, then the order is cancelled (and leaves the metrics)."""
    raw = {**load("shopify_order.json"), "cancelled_at": "2024-06-14T10:00:00-04:00", "financial_status": "refunded"}
    order = normalise_order(raw)
    assert order.status == "cancelled"
    assert order.is_cancelled


def test_connector_copy_is_flagged_from_a_note_attribute() -> None:
    """Given a connector app's copy with a 'TikTok Order ID' note, then connector_copy_of names the TikTok order."""
    order = normalise_order(load("shopify_connector_copy.json"))
    assert order.connector_copy_of == "576653688135258178"
    assert order.source == "shopify"


@pytest.mark.parametrize(
    ("tags", "source_name", "expected"),
    [
        ("TikTok, 576653688135258178", "web", "576653688135258178"),
        ("TikTokOrderID:5766536881352581789", "web", "5766536881352581789"),
        ("imported, 576653688135258178", "tiktok", "576653688135258178"),
        ("wholesale, 576653688135258178", "web", None),
        ("TikTok, vip", "web", None),
        ("TikTok, 12345", "web", None),
    ],
    ids=["tiktok-tag-plus-id", "id-inside-tag", "tiktok-source-name", "id-without-tiktok", "tiktok-without-id", "too-short-id"],
)
def test_connector_copy_from_tags(tags: str, source_name: str, expected: str | None) -> None:
    """Given only tags, then a copy is recognised when TikTok is mentioned AND an 18-19 digit id is present."""
    raw = {**load("shopify_order.json"), "tags": tags, "source_name": source_name}
    assert connector_copy_of(raw) == expected
    assert normalise_order(raw).connector_copy_of == expected


@pytest.mark.parametrize("name", ["tiktok_order_id", "TikTok Order ID", "tiktok-order-id", "TTS Order ID"])
def test_connector_copy_note_names_are_matched_loosely(name: str) -> None:
    """Given common spellings of the TikTok order id note, then each is recognised."""
    raw = {**load("shopify_order.json"), "note_attributes": [{"name": name, "value": " 576653688135258178 "}]}
    assert normalise_order(raw).connector_copy_of == "576653688135258178"


def test_shipping_falls_back_to_shipping_lines_and_missing_money_is_zero() -> None:
    """Given no total_shipping_price_set, then shipping is the sum of shipping_lines; absent amounts are zero."""
    raw = {"id": 1, "created_at": "2024-06-14T09:30:00Z", "shipping_lines": [{"price": "2.50"}, {"price": "0.75"}]}
    order = normalise_order(raw)
    assert order.shipping == Decimal("3.25")
    assert (order.total, order.status, order.line_items, order.shipping_address) == (Decimal(0), "paid", [], None)


def test_webhook_headers_accept_order_topics_only() -> None:
    """Given Shopify headers in any case, then orders/create and orders/updated are handled and other topics ignored."""
    headers = parse_webhook_headers(
        {
            "X-Shopify-Topic": "orders/create",
            "x-shopify-shop-domain": "glow.myshopify.com",
            "X-Shopify-Webhook-Id": "wh-1",
            "X-Shopify-Hmac-Sha256": "abc=",
        }
    )
    assert headers.is_order_topic
    assert (headers.shop_domain, headers.webhook_id, headers.hmac) == ("glow.myshopify.com", "wh-1", "abc=")
    assert parse_webhook_headers({"x-shopify-topic": "orders/updated"}).is_order_topic
    assert not parse_webhook_headers({"X-Shopify-Topic": "products/update"}).is_order_topic
    assert not parse_webhook_headers({}).is_order_topic


@pytest.mark.parametrize(
    ("landing_site", "domain", "expected"),
    [
        ("/products/glow?ttclid=abc", "glowhouse.myshopify.com", "https://glowhouse.myshopify.com/products/glow?ttclid=abc"),
        ("products/glow", "Glowhouse.MyShopify.com", "https://glowhouse.myshopify.com/products/glow"),
        ("https://glow.example/p?ttclid=abc", "glowhouse.myshopify.com", "https://glow.example/p?ttclid=abc"),
        ("/products/glow", None, "/products/glow"),
        ("/products/glow", "not a domain/../x", "/products/glow"),
        ("//evil.example/p", "glowhouse.myshopify.com", "//evil.example/p"),
    ],
)
def test_a_landing_path_becomes_a_full_url_on_the_shops_domain(landing_site: str, domain: str | None, expected: str) -> None:
    """Given a landing_site (a path or a full URL) and the X-Shopify-Shop-Domain header, when normalised, then the landing
    URL is the full URL the buyer landed on; without a usable domain the path is kept as it is."""
    raw = {**load("shopify_order.json"), "landing_site": landing_site}

    assert normalise_order(raw, domain).landing.url == expected


def test_client_details_that_are_not_an_ip_keep_only_the_user_agent() -> None:
    """Given client_details whose browser_ip is not an IP address, when normalised, then the order is still read and its
    client keeps the user agent without the ip; without client_details there is no client."""
    raw = {**load("shopify_order.json"), "client_details": {"browser_ip": "unknown", "user_agent": "UA/1"}}
    order = normalise_order(raw)
    assert order.client is not None and (order.client.ip, order.client.user_agent) == (None, "UA/1")

    bare = {k: v for k, v in load("shopify_order.json").items() if k != "client_details"}
    assert normalise_order(bare).client is None
