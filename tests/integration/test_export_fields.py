"""What each conversion event carries about the buyer and the products (docs/attribution.md#conversion-events),
from every source that has it, seen where TikTok sees it: the Events API request the REAL export state machine sends
after the orders came in through the webhooks and the signed API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import responses

from tests.conftest import ExportPipeline
from tests.integration.senders import (
    TIKTOK_ORDERS_URL,
    get_order,
    moment,
    send_orders,
    send_shopify_webhook,
    send_tiktok_webhook,
    send_touchpoints,
    shopify_order,
    tiktok_order,
)
from tests.integration.senders import notification as tiktok_notification
from tests.integration.test_export import TRACK_URL, FakeEventsApi, ad_order, click, now, put_export_settings, run_export

SHOP_DOMAIN = "glowhouse.myshopify.com"


@pytest.fixture
def tiktok_apis() -> Iterator[tuple[FakeEventsApi, responses.RequestsMock]]:
    """The Events API stand-in and a `responses` mock on which tests serve TikTok Shop's Get Order Detail."""
    fake = FakeEventsApi()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, TRACK_URL, callback=fake)
        yield fake, mock
    assert fake.violations == [], "requests off the Events API contract"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def only_event(fake: FakeEventsApi) -> dict[str, Any]:
    """The single event of the single track request."""
    (request,) = fake.requests
    (event,) = request.body["data"]
    assert isinstance(event, dict)
    return event


def export_last_days(api: ExportPipeline) -> dict[str, Any]:
    """Turn acme's export on and run it over the last six days; the run must succeed."""
    put_export_settings(api)
    report = run_export(api, now() - timedelta(days=6), now() - timedelta(minutes=1))
    assert report["execution"].succeeded, report["execution"]
    return report


def test_a_shopify_order_sends_its_checkout_browser_full_landing_url_skus_and_customer(
    export_pipeline: ExportPipeline, tiktok_apis: tuple[FakeEventsApi, responses.RequestsMock]
) -> None:
    """Given a Shopify order whose landing_site is a path carrying a ttclid, with client_details, a customer but no TikTok
    user id, a line with a SKU and a line with only a variant, when the export runs, then its event carries the checkout's
    ip and user agent, the landing page joined to the shop's domain, the customer's hashed id as external_id, and one
    content per line by SKU (else variant id) with name, price and quantity; GET /orders shows the same landing and client."""
    api, (fake, _) = export_pipeline, tiktok_apis
    at = moment(1)
    body = shopify_order(
        910001,
        at,
        landing_site="/products/glow-lip-oil?ttclid=E.C.P.shop1&utm_source=tiktok",
        customer={"id": 7012345678901, "email": "jane@example.com"},
        client_details={"browser_ip": "203.0.113.42", "user_agent": "Mozilla/5.0 (iPhone)", "accept_language": "en-US"},
        line_items=[
            {"sku": "LIPOIL-ROSE", "variant_id": 44123, "product_id": 111, "title": "Glow Lip Oil", "quantity": 2, "price": "12.00"},
            {"sku": "", "variant_id": 44124, "product_id": 112, "title": "Mint Balm", "quantity": 1, "price": "8.50"},
        ],
        total_line_items_price="32.50",
        total_price="32.50",
    )
    assert send_shopify_webhook(api, "acme", body, shop_domain=SHOP_DOMAIN).status == 200

    stored = get_order(api, "acme", "910001").json()["order"]
    assert stored["landing"]["url"] == f"https://{SHOP_DOMAIN}/products/glow-lip-oil?ttclid=E.C.P.shop1&utm_source=tiktok"
    assert stored["client"] == {"ip": "203.0.113.42", "user_agent": "Mozilla/5.0 (iPhone)"}
    export_last_days(api)

    event = only_event(fake)
    assert event["user"] == {
        "ttclid": "E.C.P.shop1",
        "email": [sha256("jane@example.com")],
        "external_id": [sha256("7012345678901")],
        "ip": "203.0.113.42",
        "user_agent": "Mozilla/5.0 (iPhone)",
    }
    assert event["page"] == {"url": f"https://{SHOP_DOMAIN}/products/glow-lip-oil?ttclid=E.C.P.shop1&utm_source=tiktok"}
    assert event["properties"]["contents"] == [
        {"content_id": "LIPOIL-ROSE", "content_name": "Glow Lip Oil", "price": 12, "quantity": 2},
        {"content_id": "44124", "content_name": "Mint Balm", "price": 8.5, "quantity": 1},
    ]


def test_a_signed_order_with_a_client_sends_its_ip_and_user_agent(
    export_pipeline: ExportPipeline, tiktok_apis: tuple[FakeEventsApi, responses.RequestsMock]
) -> None:
    """Given an order from another store through POST /orders with a ttclid on its landing and `client: {ip, user_agent}`,
    when the export runs, then the event carries that ip and user agent; an ad click with its own browser details wins
    over the order's for the ttclid it carries."""
    api, (fake, _) = export_pipeline, tiktok_apis
    at = moment(1)
    landing = {"ttclid": "E.C.P.other1", "url": "https://acme.example/p/1?ttclid=E.C.P.other1"}
    client = {"ip": "2001:db8::7", "user_agent": "Mozilla/5.0 (Android)"}
    assert send_orders(api, "acme", ad_order("7001", "buyer-7001", at, landing=landing, client=client)).status == 202
    assert send_touchpoints(api, "acme", click("clk-7002", "buyer-7002", at - timedelta(hours=1), "E.C.P.other2")).status == 202
    assert send_orders(api, "acme", ad_order("7002", "buyer-7002", at, client=client)).status == 202
    export_last_days(api)

    (request,) = fake.requests
    by_order = {event["properties"]["order_id"]: event["user"] for event in request.body["data"]}
    assert (by_order["7001"]["ip"], by_order["7001"]["user_agent"]) == ("2001:db8::7", "Mozilla/5.0 (Android)")
    assert (by_order["7002"]["ip"], by_order["7002"]["user_agent"]) == ("203.0.113.7", "Mozilla/5.0 (iPhone)")


def test_a_tiktok_shop_order_sends_seller_skus_at_the_price_its_subtotal_is_made_of(
    export_pipeline: ExportPipeline, tiktok_apis: tuple[FakeEventsApi, responses.RequestsMock]
) -> None:
    """Given a buyer who clicked an ad, then a TikTok Shop order of two lines (one with a seller SKU, one with only TikTok's
    sku_id) whose sale prices are after discounts, when the export runs, then the contents name the seller SKU (else the
    sku_id) at the price before discounts, and those prices add up to the subtotal GET /orders shows."""
    api, (fake, mock) = export_pipeline, tiktok_apis
    at = moment(1)
    assert send_touchpoints(api, "acme", click("clk-tts", "tt-buyer-9", at - timedelta(hours=2), "E.C.P.tts")).status == 202
    raw = tiktok_order("577000000000000001", "tt-buyer-9", at, at)
    raw["line_items"] = [
        {**raw["line_items"][0], "sale_price": "12.00", "original_price": "13.50"},
        {
            **raw["line_items"][0],
            "id": "5770000000000000012",
            "seller_sku": "",
            "sku_id": "1729382256910270002",
            "product_name": "Mint Balm",
            "sale_price": "8.50",
            "original_price": "9.50",
        },
    ]
    raw["payment"] = {
        "currency": "USD",
        "original_total_product_price": "23.00",
        "sub_total": "20.50",
        "seller_discount": "2.50",
        "platform_discount": "0.00",
        "shipping_fee": "0.00",
        "tax": "0.00",
        "total_amount": "20.50",
    }
    mock.upsert(responses.GET, TIKTOK_ORDERS_URL, json={"code": 0, "message": "Success", "request_id": "r1", "data": {"orders": [raw]}})
    assert send_tiktok_webhook(api, "acme", tiktok_notification(raw["id"], "n-tts-1")).status == 200

    stored = get_order(api, "acme", raw["id"]).json()["order"]
    assert sum(Decimal(li["unit_price"]) * li["quantity"] for li in stored["line_items"]) == Decimal(stored["subtotal"]) == Decimal("23.00")
    export_last_days(api)

    event = only_event(fake)
    assert event["properties"]["contents"] == [
        {"content_id": "SKU-1", "content_name": "Glow Lip Oil", "price": 13.5, "quantity": 1},
        {"content_id": "1729382256910270002", "content_name": "Mint Balm", "price": 9.5, "quantity": 1},
    ]
    assert event["user"]["external_id"] == [sha256("tt-buyer-9")]


def test_an_order_whose_client_ip_is_not_an_ip_is_refused_naming_the_field(
    export_pipeline: ExportPipeline, tiktok_apis: tuple[FakeEventsApi, responses.RequestsMock]
) -> None:
    """Given POST /orders with `client.ip` that is not an IP address, then it is 422 naming `client.ip` and nothing is stored."""
    api = export_pipeline
    response = send_orders(api, "acme", ad_order("7100", "buyer-7100", moment(1), client={"ip": "300.1.2.3"}))

    assert response.status == 422, response.body
    assert response.json()["error"]["field"] == "client.ip"
    assert get_order(api, "acme", "7100").status == 404
