"""Contract tests: TikTok Shop notifications, the Get Order Detail client (against `responses`) and order normalisation."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from pydantic import ValidationError

from ordertrail.core.errors import UpstreamError
from ordertrail.core.models import is_masked
from ordertrail.sources.signatures import tiktok_api_sign
from ordertrail.sources.tiktok_shop import (
    TikTokShopClient,
    TikTokShopCredentials,
    normalise_order,
    order_status_change,
    parse_notification,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "contract"
BASE = "https://tts.example.test"
URL = f"{BASE}/order/202309/orders"
NOW = 1_718_305_600
CREDS = TikTokShopCredentials(app_key="6abc123", app_secret="app-secret", access_token="TTP_token", shop_cipher="ROW_cipher")


def load(name: str) -> dict[str, Any]:
    """Read a JSON fixture from events/contract."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def client() -> TikTokShopClient:
    """A client with a fixed clock against the fake base URL."""
    return TikTokShopClient(BASE, CREDS, clock=lambda: NOW + 0.7)


def query_of(call_index: int) -> dict[str, str]:
    """The query string of the n-th recorded request, one value per key."""
    url = responses.calls[call_index].request.url or ""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


# --- notifications -------------------------------------------------------------------------------------------


def test_published_notification_parses_as_an_order_status_change() -> None:
    """Given the published type-1 body, when parsed, then the order id, status, hold flag and times come through."""
    notification = parse_notification(load("tiktok_notification.json"))
    assert (notification.type, notification.tts_notification_id, notification.shop_id) == (1, "7380066284010030890", "7495540735365777507")
    change = order_status_change(notification)
    assert change is not None
    assert (change.order_id, change.order_status, change.is_on_hold_order, change.update_time) == (
        "576653688135258178",
        "UNPAID",
        True,
        1718305585,
    )


def test_other_notification_types_are_ignored() -> None:
    """Given a non-order notification (e.g. type 6), then there is no order change to act on."""
    assert order_status_change(parse_notification({**load("tiktok_notification.json"), "type": 6, "data": {"x": 1}})) is None


@pytest.mark.parametrize("broken", [{"type": "one"}, {"tts_notification_id": None}, {"data": "not-an-object"}, {"shop_id": ""}])
def test_malformed_notification_raises_validation_error(broken: dict[str, Any]) -> None:
    """Given a body with a wrong type or missing field, when parsed, then pydantic rejects it (the API answers 400/422)."""
    with pytest.raises(ValidationError):
        parse_notification({**load("tiktok_notification.json"), **broken})


# --- client --------------------------------------------------------------------------------------------------


@responses.activate
def test_fetch_orders_sends_a_signed_request_and_returns_the_orders() -> None:
    """Given two order ids, when fetched, then one GET carries app_key, timestamp, shop_cipher, ids, a valid sign and the token header."""
    responses.get(URL, json=load("tiktok_order_detail_response.json"))
    orders = client().fetch_orders(["576653688135258178", "576653688135258999"])

    assert [o["id"] for o in orders] == ["576653688135258178", "576653688135258999"]
    assert len(responses.calls) == 1
    query = query_of(0)
    assert query["app_key"] == "6abc123"
    assert query["timestamp"] == str(NOW)
    assert query["shop_cipher"] == "ROW_cipher"
    assert query["ids"] == "576653688135258178,576653688135258999"
    assert "access_token" not in query
    unsigned = {k: v for k, v in query.items() if k != "sign"}
    assert query["sign"] == tiktok_api_sign("app-secret", "/order/202309/orders", unsigned)
    headers = responses.calls[0].request.headers
    assert headers["x-tts-access-token"] == "TTP_token"
    assert headers["content-type"] == "application/json"


@responses.activate
def test_fetch_orders_chunks_more_than_50_ids() -> None:
    """Given 120 ids, when fetched, then three requests go out with 50, 50 and 20 ids, each signed for its own ids."""
    responses.get(URL, json={"code": 0, "message": "Success", "data": {"orders": [{"id": "x"}]}})
    ids = [str(576653688135258000 + n) for n in range(120)]
    orders = client().fetch_orders(ids)

    assert len(orders) == 3
    sent = [query_of(i)["ids"].split(",") for i in range(len(responses.calls))]
    assert [len(chunk) for chunk in sent] == [50, 50, 20]
    assert [i for chunk in sent for i in chunk] == ids
    for i in range(3):
        query = query_of(i)
        assert query["sign"] == tiktok_api_sign("app-secret", "/order/202309/orders", {k: v for k, v in query.items() if k != "sign"})


@responses.activate
def test_fetch_orders_with_no_ids_makes_no_request() -> None:
    """Given no ids, then nothing is fetched."""
    assert client().fetch_orders([]) == []
    assert len(responses.calls) == 0


@responses.activate
def test_non_zero_code_raises_upstream_error_with_code_and_message() -> None:
    """Given TikTok answers HTTP 200 with code 105002 (token expired), then UpstreamError names the code and message."""
    responses.get(URL, json={"code": 105002, "message": "Expired credentials", "request_id": "req-1", "data": None})
    with pytest.raises(UpstreamError, match=r"105002.*Expired credentials"):
        client().fetch_orders(["1"])


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500, "json": {"code": 0, "data": {"orders": []}}},
        {"status": 502, "body": "<html>Bad gateway</html>"},
        {"status": 200, "body": "not json"},
        {"status": 200, "json": ["unexpected"]},
        {"body": requests.ConnectionError("connection reset")},
        {"body": requests.Timeout("read timed out")},
    ],
    ids=["http-500", "html-502", "non-json", "non-object", "connection-error", "timeout"],
)
@responses.activate
def test_transport_failures_raise_upstream_error(reply: dict[str, Any]) -> None:
    """Given an HTTP error, a non-JSON body or a network failure, then UpstreamError is raised (the webhook is retried)."""
    responses.get(URL, **reply)
    with pytest.raises(UpstreamError):
        client().fetch_orders(["1"])


# --- normalisation -------------------------------------------------------------------------------------------


def test_normal_order_has_one_unit_per_line_item_and_exact_money() -> None:
    """Given a 3-line order (two lines of the same SKU), when normalised, then there are 3 one-unit lines at their price before
    discounts (`original_price`), exact Decimals, and the lines add up to the subtotal."""
    order = normalise_order(load("tiktok_order_detail_response.json")["data"]["orders"][0])

    assert order.id == "576653688135258178"
    assert order.source == "tiktok_shop"
    assert order.status == "awaiting_shipment"
    assert order.created_at == datetime(2024, 6, 13, 19, 6, 25, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 6, 13, 20, 6, 25, tzinfo=UTC)
    assert order.buyer.user_id == "7494012345678901234"
    assert order.buyer.email == "v2x8f3k9q1b7aa@scs.tiktokw.us"
    assert [(li.sku, li.quantity, li.unit_price) for li in order.line_items] == [
        ("LIPOIL-ROSE", 1, Decimal("13.50")),
        ("LIPOIL-ROSE", 1, Decimal("13.50")),
        ("BALM-MINT", 1, Decimal("9.50")),
    ]
    assert order.line_items[0].product_id == "1729382256910200001"
    assert order.line_items[0].name == "Glow Lip Oil"
    assert order.currency == "USD"
    assert (order.subtotal, order.tax, order.shipping, order.discounts, order.total) == (
        Decimal("36.50"),
        Decimal("2.68"),
        Decimal("4.99"),
        Decimal("4.00"),
        Decimal("40.17"),
    )
    assert str(order.total) == "40.17"
    # docs/api.md#order: subtotal is goods before discounts (original_total_product_price), so the total is what remains after them.
    assert order.subtotal + order.shipping + order.tax - order.discounts == order.total
    assert sum(li.unit_price * li.quantity for li in order.line_items) == order.subtotal
    assert order.shipping_address is not None
    address = order.shipping_address
    assert (address.name, address.line1, address.line2, address.city, address.region, address.postal_code, address.country) == (
        "Jane Doe",
        "123 Main Street",
        "Apt. 4B",
        "Los Angeles",
        "California",
        "90012",
        "US",
    )
    assert not order.is_cancelled
    assert order.connector_copy_of is None


def test_cancel_order_is_cancelled_and_masked_values_are_kept() -> None:
    """Given a CANCEL order with `*`-masked buyer data, then it is cancelled and masked values stay as sent (never matched later)."""
    order = normalise_order(load("tiktok_order_detail_response.json")["data"]["orders"][1])

    assert order.status == "cancelled"
    assert order.is_cancelled
    assert order.buyer.user_id == "74940123456789*****"
    assert order.buyer.matchable_user_id is None
    assert order.buyer.email == "j***@****.com"
    assert order.shipping_address is not None
    assert order.shipping_address.line1 == "1** M*** S*****"
    assert is_masked(order.shipping_address.postal_code)
    assert [(li.sku, li.quantity, li.unit_price) for li in order.line_items] == [("1729382256910270003", 1, Decimal("18.00"))]
    assert order.total == Decimal("19.49")


@pytest.mark.parametrize("status", ["CANCEL", "CANCELLED"])
def test_both_tiktok_cancel_spellings_mean_cancelled(status: str) -> None:
    """Given either spelling TikTok uses, then the order is cancelled."""
    raw = {**load("tiktok_order_detail_response.json")["data"]["orders"][0], "status": status}
    assert normalise_order(raw).status == "cancelled"


def test_missing_optional_parts_default_sensibly() -> None:
    """Given a bare order (no payment, address or update_time), then money is zero, currency USD and updated_at = created_at."""
    order = normalise_order({"id": "1", "status": "UNPAID", "create_time": 1718305585, "line_items": []})
    assert (order.total, order.currency, order.shipping_address, order.updated_at) == (Decimal(0), "USD", None, order.created_at)


def test_a_line_without_original_price_is_priced_before_its_discounts() -> None:
    """Given a line item with only `sale_price` and its own seller and platform discounts, when normalised, then its unit
    price is the sale price plus those discounts, so the lines still add up to the subtotal before discounts."""
    raw = copy.deepcopy(load("tiktok_order_detail_response.json")["data"]["orders"][0])
    for item in raw["line_items"]:
        del item["original_price"]

    order = normalise_order(raw)

    assert [li.unit_price for li in order.line_items] == [Decimal("13.50"), Decimal("13.50"), Decimal("9.50")]
    assert sum(li.unit_price for li in order.line_items) == order.subtotal
