"""Orders in: TikTok Shop notifications, Shopify webhooks and POST /orders, through the real HTTP API and stream.

Each test reads as docs/attribution.md and docs/api.md: given, when, then — and asserts what a seller would notice (the HTTP answer,
what GET /v1/{tenant}/orders/{id} shows, what the table holds).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import responses

from tests.integration.senders import (
    TIKTOK_ORDERS_URL,
    attribution_of,
    body_bytes,
    get_order,
    journey,
    moment,
    notification,
    order,
    send_orders,
    send_shopify_webhook,
    send_signed_raw,
    send_tiktok_webhook,
    send_touchpoints,
    serve_tiktok_orders,
    shopify_order,
    stable_items,
    tiktok_order,
)

TT_ORDER = "576653688135258178"


@pytest.fixture
def tiktok_api():
    """TikTok Shop's Open API, faked with `responses` (every other HTTP call is refused)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def orders_url_calls(mock: responses.RequestsMock) -> int:
    return sum(1 for call in mock.calls if call.request.url.startswith(TIKTOK_ORDERS_URL))


# ------------------------------------------------------------------------------------- at-least-once delivery
def test_tiktok_notification_delivered_three_times_stores_the_same_as_once(pipeline, tiktok_api):
    """Given a TikTok Shop order, when its status-change notification arrives three times,
    then the order is fetched once and the table holds exactly what one delivery left."""
    at = moment()
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "7494012345678901234", at, at + timedelta(minutes=5))])
    note = notification(TT_ORDER, "n-1", update_time=int((at + timedelta(minutes=5)).timestamp()))

    first = send_tiktok_webhook(pipeline, "acme", note)
    assert first.status == 200, first.body
    assert first.json()["received"] is True
    once = stable_items(pipeline)
    for _ in range(2):
        again = send_tiktok_webhook(pipeline, "acme", note)
        assert again.status == 200, again.body
        assert again.json() == first.json()

    assert stable_items(pipeline) == once
    assert orders_url_calls(tiktok_api) == 1
    doc = get_order(pipeline, "acme", TT_ORDER).json()
    assert doc["order"]["status"] == "awaiting_shipment"
    assert doc["attribution"]["method"] == "organic"


def test_shopify_order_webhook_delivered_three_times_stores_the_same_as_once(pipeline):
    """Given a Shopify orders/create, when Shopify delivers it three times, then one order and one attribution are stored."""
    body = shopify_order(5678901234567, moment())
    assert send_shopify_webhook(pipeline, "acme", body).status == 200
    once = stable_items(pipeline)
    for _ in range(2):
        again = send_shopify_webhook(pipeline, "acme", body)
        assert again.status == 200, again.body
        assert again.json()["received"] is True

    assert stable_items(pipeline) == once
    assert [i.get("type") for i in once].count("order") == 1
    assert [i.get("type") for i in once].count("attribution") == 1


def test_signed_order_posted_three_times_stores_the_same_as_once(pipeline):
    """Given a shop link for buyer u1, when the same order is POSTed three times,
    then the first is accepted, the repeats count as duplicates, and the table is unchanged by them."""
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at)})
    payload = order("1001", "u1", at + timedelta(hours=1))

    first = send_orders(pipeline, "acme", payload)
    assert first.status == 202, first.body
    assert first.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    once = stable_items(pipeline)
    for _ in range(2):
        again = send_orders(pipeline, "acme", payload)
        assert again.status == 202
        assert again.json() == {"accepted": 0, "duplicates": 1, "errors": []}

    assert stable_items(pipeline) == once
    assert attribution_of(pipeline, "acme", "1001")["method"] == "conversation"


# ------------------------------------------------------------------------------------- out-of-order updates
def test_tiktok_older_update_fetched_after_a_newer_one_keeps_the_newer(pipeline, tiktok_api):
    """Given the order was stored as AWAITING_SHIPMENT, when a later notification's fetch returns an older
    state (UNPAID, earlier update_time), then the order stays AWAITING_SHIPMENT."""
    at = moment()
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at + timedelta(minutes=10), "AWAITING_SHIPMENT")])
    assert send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-new")).status == 200

    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at + timedelta(minutes=1), "UNPAID")])
    late = send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-old"))
    assert (late.status, late.json()) == (200, {"received": True, "queued": TT_ORDER}), late.body

    doc = get_order(pipeline, "acme", TT_ORDER).json()
    assert doc["order"]["status"] == "awaiting_shipment"
    assert doc["order"]["updated_at"].startswith((at + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"))


def test_tiktok_cancel_after_awaiting_shipment_marks_the_attribution_cancelled(pipeline, tiktok_api):
    """Given an attributed AWAITING_SHIPMENT order, when TikTok says CANCEL (its webhook spelling),
    then the order is cancelled and its attribution leaves the metrics (cancelled, not counted)."""
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at - timedelta(hours=1))})
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at + timedelta(minutes=1))])
    send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"))
    assert attribution_of(pipeline, "acme", TT_ORDER)["cancelled"] is False

    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at + timedelta(hours=2), "CANCEL")])
    assert send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-2", status="CANCEL")).status == 200

    doc = get_order(pipeline, "acme", TT_ORDER).json()
    assert doc["order"]["status"] == "cancelled"
    assert doc["attribution"]["cancelled"] is True
    assert doc["attribution"]["method"] == "conversation"
    assert doc["counts_as_attributed"] is False


def test_signed_order_older_update_after_newer_keeps_the_newer(pipeline):
    """Given order 1001 stored as shipped at 12:00, when a paid state from 11:00 arrives late,
    then it is reported as a duplicate and the order stays shipped."""
    at = moment()
    newer = order("1001", "u1", at, status="shipped", updated_at=at + timedelta(hours=2))
    older = order("1001", "u1", at, status="paid", updated_at=at + timedelta(hours=1))
    assert send_orders(pipeline, "acme", newer).json()["accepted"] == 1

    late = send_orders(pipeline, "acme", older)
    assert late.status == 202
    assert late.json() == {"accepted": 0, "duplicates": 1, "errors": []}
    assert get_order(pipeline, "acme", "1001").json()["order"]["status"] == "shipped"


# ------------------------------------------------------------------------------------- signatures
def _ordertrail_headers(value: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if value is not None:
        headers["X-OrderTrail-Signature"] = value
    return headers


@pytest.mark.parametrize(
    ("route", "headers"),
    [
        ("webhooks/tiktok-shop", {"Content-Type": "application/json"}),
        ("webhooks/tiktok-shop", {"Content-Type": "application/json", "Authorization": "0" * 64}),
        ("webhooks/shopify", {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create"}),
        ("webhooks/shopify", {"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": "bm9wZQ==", "X-Shopify-Topic": "orders/create"}),
        ("orders", _ordertrail_headers(None)),
        ("orders", _ordertrail_headers("t={now},v1=" + "0" * 64)),
        ("orders", _ordertrail_headers("garbage")),
        ("touchpoints", _ordertrail_headers(None)),
        ("touchpoints", _ordertrail_headers("t={now},v1=" + "0" * 64)),
    ],
    ids=[
        "tiktok-missing",
        "tiktok-bad",
        "shopify-missing",
        "shopify-bad",
        "orders-missing",
        "orders-bad",
        "orders-garbled",
        "touchpoints-missing",
        "touchpoints-bad",
    ],
)
def test_missing_or_bad_signature_is_401_and_writes_nothing(pipeline, tiktok_api, route, headers):
    """Given any ingest route, when the request has no or a wrong signature, then it is 401 and the table stays empty."""
    headers = {name: value.format(now=int(time.time())) for name, value in headers.items()}
    body = body_bytes(
        shopify_order(1, moment())
        if "shopify" in route
        else notification(TT_ORDER, "n-1")
        if "tiktok" in route
        else order("1001", "u1", moment())
        if route == "orders"
        else journey("u1", moment())[0]
    )
    response = pipeline.call("POST", f"/v1/acme/{route}", body, headers)
    assert response.status == 401, response.body
    assert response.json()["error"]["code"] in ("missing_signature", "bad_signature", "malformed_signature")
    assert pipeline.items() == []
    assert orders_url_calls(tiktok_api) == 0


@pytest.mark.parametrize("route", ["orders", "touchpoints"])
def test_signature_older_than_300_seconds_is_401_and_writes_nothing(pipeline, route):
    """Given a correctly signed body, when its `t=` is 301 s old, then it is refused as expired."""
    at = moment()
    send = send_orders if route == "orders" else send_touchpoints
    payload = order("1001", "u1", at) if route == "orders" else journey("u1", at)[0]
    response = send(pipeline, "acme", payload, at=int(time.time()) - 301)
    assert response.status == 401, response.body
    assert response.json()["error"]["code"] == "expired_signature"
    assert pipeline.items() == []


# ------------------------------------------------------------------------------------- wrong tenant
def test_tiktok_webhook_signed_with_another_tenants_app_is_403_and_writes_nothing(pipeline, tiktok_api):
    """Given globex's TikTok app signed the notification, when it is sent to acme's webhook, then 403 and nothing is fetched or stored."""
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", moment(), moment())])
    response = send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"), signer="globex")
    assert response.status == 403, response.body
    assert response.json()["error"]["code"] == "wrong_tenant"
    assert pipeline.items() == []
    assert orders_url_calls(tiktok_api) == 0


def test_shopify_webhook_signed_for_another_tenant_is_403_and_writes_nothing(pipeline):
    response = send_shopify_webhook(pipeline, "acme", shopify_order(77, moment()), signer="globex")
    assert response.status == 403, response.body
    assert pipeline.items() == []


def test_order_signed_with_another_tenants_secret_is_403_and_writes_nothing(pipeline):
    response = send_orders(pipeline, "acme", order("1001", "u1", moment()), signer="globex")
    assert response.status == 403, response.body
    assert response.json()["error"]["code"] == "wrong_tenant"
    assert pipeline.items() == []


# ------------------------------------------------------------------------------------- errors
def test_order_errors_are_reported_as_api_md_says(pipeline):
    """Malformed JSON → 400 malformed_json; a wrong type → 400 naming the field; a missing field → 422 naming it."""
    at = moment()
    malformed = send_signed_raw(pipeline, "acme", "orders", b'{"id": "1001", ')
    assert malformed.status == 400
    assert malformed.json()["error"]["code"] == "malformed_json"

    bad_quantity = order("1001", "u1", at)
    bad_quantity["line_items"][0]["quantity"] = "two"
    wrong = send_orders(pipeline, "acme", bad_quantity)
    assert wrong.status == 400, wrong.body
    assert wrong.json()["error"] == {**wrong.json()["error"], "code": "wrong_type", "field": "line_items[0].quantity"}

    missing = order("1001", "u1", at)
    del missing["created_at"]
    refused = send_orders(pipeline, "acme", missing)
    assert refused.status == 422, refused.body
    assert refused.json()["error"]["field"] == "created_at"

    batch = send_orders(pipeline, "acme", {"orders": [order("1", "u1", at), {**order("2", "u1", at), "currency": "usd$"}]})
    assert batch.status == 202
    assert batch.json()["accepted"] == 1
    assert [(e["index"], e["field"]) for e in batch.json()["errors"]] == [(1, "orders[1].currency")]
    assert [i["PK"] for i in pipeline.items() if i.get("type") == "order"] == ["T#acme#O#other#1"]


def test_body_over_one_mib_is_413(pipeline):
    big = order("1001", "u1", moment(), note="x" * (1024 * 1024))
    response = send_orders(pipeline, "acme", big)
    assert response.status == 413, response.body[:200]
    assert response.json()["error"]["code"] == "body_too_large"
    assert pipeline.items() == []


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("orders", b"[]"),
        ("orders", b"null"),
        ("orders", b'"an order"'),
        ("orders", b'{"orders": "many"}'),
        ("orders", b'{"orders": []}'),
        ("orders", b'{"orders": [1, null]}'),
        ("orders", b'{"id": 5, "status": [], "created_at": "yesterday", "updated_at": 1}'),
        ("orders", b'{"id": "1", "status": "paid", "created_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00"}'),
        ("orders", b"\xff\xfe not utf-8"),
        ("webhooks/tiktok-shop", b"{}"),
        ("webhooks/tiktok-shop", b'{"type": 1, "tts_notification_id": "n", "shop_id": "s", "timestamp": 1, "data": {}}'),
        ("webhooks/tiktok-shop", b'{"type": "x"}'),
        ("webhooks/tiktok-shop", b"[1, 2]"),
        ("webhooks/shopify", b"{}"),
        ("webhooks/shopify", b'{"id": 1}'),
        ("webhooks/shopify", b'{"id": 1, "created_at": "not a time"}'),
        ("webhooks/shopify", b'{"id": 1, "created_at": "2026-01-01T00:00:00Z", "total_price": "lots"}'),
        ("webhooks/shopify", b'{"id": 1, "created_at": "2026-01-01T00:00:00Z", "line_items": [{"quantity": "x"}]}'),
        ("webhooks/shopify", b"[]"),
    ],
)
def test_bad_input_is_never_a_5xx(pipeline, tiktok_api, route, body):
    """Given a correctly signed request, when its body is nonsense, then the answer is a 4xx in docs/api.md#error-shape."""
    response = send_signed_raw(pipeline, "acme", route, body)
    assert response.status < 500, (response.status, response.body)
    if response.status == 202:  # a batch: every item refused by index, nothing stored
        assert response.json()["accepted"] == 0 and response.json()["errors"]
    else:
        assert 400 <= response.status < 500, (response.status, response.body)
        error = response.json()["error"]
        assert error["code"] and error["message"]
    assert not [i for i in pipeline.items() if i.get("type") == "order"]


# ------------------------------------------------------------------------------------- upstream failure
def hint_of(pipeline, order_id: str) -> dict | None:
    """The stored hint for a TikTok Shop order (None once its order was fetched)."""
    return next((i for i in pipeline.items() if i.get("type") == "hint" and i["order_id"] == order_id), None)


def retry_after(pipeline, monkeypatch, later: timedelta) -> None:
    """Let `later` pass, then run the retry schedule (it makes hints whose back-off has passed due; the stream fetches them)."""
    from datetime import UTC, datetime

    monkeypatch.setattr("ordertrail.runtime.services.now", lambda: datetime.now(UTC) + later)
    pipeline.run_schedule("RetryOrderHintsFunction")


def test_a_notification_is_answered_at_once_and_its_order_fetched_from_the_stored_hint(pipeline, tiktok_api):
    """Given a TikTok Shop order, when its notification arrives, then it is answered 200 naming the order queued, and the
    order (fetched from the stored hint) is readable; the hint is gone once the order is stored."""
    at = moment()
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at)])
    answer = send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"))
    assert (answer.status, answer.json()) == (200, {"received": True, "queued": TT_ORDER})
    assert get_order(pipeline, "acme", TT_ORDER).status == 200
    assert hint_of(pipeline, TT_ORDER) is None


def test_a_tiktok_shop_api_outage_loses_no_order(pipeline, tiktok_api, monkeypatch):
    """Given TikTok Shop's API is down (HTTP 503, then an error code), when a notification arrives, then it is still
    answered 200 and its hint waits with the reason and a backed-off next attempt; when the API is back and the retry
    schedule runs after the back-off, then the order is stored, once, and the hint is gone."""
    at = moment()
    note = notification(TT_ORDER, "n-1")
    tiktok_api.upsert(responses.GET, TIKTOK_ORDERS_URL, status=503, body="Service Unavailable")
    down = send_tiktok_webhook(pipeline, "acme", note)
    assert down.status == 200, down.body
    assert not [i for i in pipeline.items() if i.get("type") == "order"]
    waiting = hint_of(pipeline, TT_ORDER)
    assert waiting is not None and waiting["status"] == "waiting" and waiting["attempts"] == 1
    assert "503" in waiting["last_error"]

    tiktok_api.upsert(responses.GET, TIKTOK_ORDERS_URL, json={"code": 36009004, "message": "Internal error", "request_id": "r"})
    retry_after(pipeline, monkeypatch, timedelta(minutes=1))
    still = hint_of(pipeline, TT_ORDER)
    assert still is not None and still["attempts"] == 2 and "36009004" in still["last_error"]

    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at)])
    retry_after(pipeline, monkeypatch, timedelta(seconds=30))
    assert hint_of(pipeline, TT_ORDER) is not None, "the second back-off (60 s) has not passed yet: nothing is fetched"
    retry_after(pipeline, monkeypatch, timedelta(minutes=5))
    assert hint_of(pipeline, TT_ORDER) is None
    assert get_order(pipeline, "acme", TT_ORDER).status == 200
    assert orders_url_calls(tiktok_api) == 3
    assert len([i for i in pipeline.items() if i.get("type") == "order"]) == 1


def test_a_notification_that_comes_before_its_order_is_visible_waits_until_the_order_is_stored(pipeline, tiktok_api, monkeypatch):
    """Given TikTok notifies before its API shows the order (Get Order Detail answers no order, then only another one),
    when the notification arrives, then the hint waits saying the order is not visible yet; once the order is visible
    the retry fetches and stores it."""
    at = moment()
    note = notification(TT_ORDER, "n-early")
    serve_tiktok_orders(tiktok_api, [])
    assert send_tiktok_webhook(pipeline, "acme", note).status == 200
    serve_tiktok_orders(tiktok_api, [tiktok_order("576653688135250000", "u9", at, at)])
    retry_after(pipeline, monkeypatch, timedelta(minutes=1))
    waiting = hint_of(pipeline, TT_ORDER)
    assert waiting is not None and TT_ORDER in waiting["last_error"] and waiting["attempts"] == 2
    assert get_order(pipeline, "acme", TT_ORDER).status == 404

    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at)])
    retry_after(pipeline, monkeypatch, timedelta(minutes=5))
    assert get_order(pipeline, "acme", TT_ORDER).status == 200
    assert hint_of(pipeline, TT_ORDER) is None
    assert orders_url_calls(tiktok_api) == 3


def test_a_new_notification_during_a_wait_makes_the_hint_due_at_once(pipeline, tiktok_api):
    """Given a hint waiting after a failed fetch, when TikTok notifies about the same order again (a new status), then
    the order is fetched right away, without waiting for the back-off."""
    at = moment()
    tiktok_api.upsert(responses.GET, TIKTOK_ORDERS_URL, status=503, body="down")
    send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"))
    assert hint_of(pipeline, TT_ORDER)["status"] == "waiting"

    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", at, at)])
    assert send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-2")).status == 200
    assert get_order(pipeline, "acme", TT_ORDER).status == 200
    assert hint_of(pipeline, TT_ORDER) is None


def test_tiktok_fetch_is_signed_for_the_tenants_shop(pipeline, tiktok_api):
    """The order-detail fetch carries acme's access token, app key and shop cipher (never another tenant's)."""
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", moment(), moment())])
    send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"))
    request = tiktok_api.calls[0].request
    assert request.headers["x-tts-access-token"] == "acme-token"
    assert "app_key=acme-app-key" in request.url and "shop_cipher=acme-cipher" in request.url and f"ids={TT_ORDER}" in request.url


def test_non_order_notifications_are_acknowledged_and_ignored(pipeline, tiktok_api):
    note = {**notification(TT_ORDER, "n-9"), "type": 6}
    response = send_tiktok_webhook(pipeline, "acme", note)
    assert response.status == 200
    assert response.json()["received"] is True
    assert orders_url_calls(tiktok_api) == 0
    assert not [i for i in pipeline.items() if i.get("type") == "order"]


# ------------------------------------------------------------------------------------- store specifics
def test_shopify_order_with_ttclid_in_landing_site_is_an_ad_click(pipeline):
    """Given a Shopify order whose landing_site carries ttclid, then it is attributed to an ad click with that ttclid."""
    body = shopify_order(5678901234567, moment(), landing_site="/products/glow-lip-oil?ttclid=E.C.P.abc123&utm_source=tiktok")
    assert send_shopify_webhook(pipeline, "acme", body).status == 200
    attribution = attribution_of(pipeline, "acme", "5678901234567")
    assert attribution["method"] == "ad_click"
    assert attribution["ttclid"] == "E.C.P.abc123"
    doc = get_order(pipeline, "acme", "5678901234567").json()
    assert "store_url" not in doc
    assert doc["order"]["landing"]["utm_source"] == "tiktok"


def test_shopify_landing_site_as_full_url_also_carries_ttclid(pipeline):
    body = shopify_order(42, moment(), landing_site="https://glow.example.com/?ttclid=E.C.P.full&ref=bio")
    send_shopify_webhook(pipeline, "acme", body)
    assert attribution_of(pipeline, "acme", "42")["method"] == "ad_click"


def test_tiktok_order_with_masked_user_id_is_organic_with_no_user_id(pipeline, tiktok_api):
    """Given buyer u1 got a shop link, when a TikTok order arrives with user_id masked as `*`, then it is organic:
    the masked id never matches, and the evidence says no_user_id."""
    at = moment()
    send_touchpoints(pipeline, "acme", {"touchpoints": journey("u1", at - timedelta(hours=1))})
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u*****1", at, at)])
    send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"))

    attribution = attribution_of(pipeline, "acme", TT_ORDER)
    assert attribution["method"] == "organic"
    reasons = {e["rule"]: e["reason"] for e in attribution["evidence"]}
    assert reasons["conversation_hard"] == "no_user_id"
    assert reasons["conversation_soft"] == "no_user_id"


def test_tiktok_order_stored_in_one_unit_per_line_with_decimal_money(pipeline, tiktok_api):
    serve_tiktok_orders(tiktok_api, [tiktok_order(TT_ORDER, "u1", moment(), moment())])
    send_tiktok_webhook(pipeline, "acme", notification(TT_ORDER, "n-1"))
    doc = get_order(pipeline, "acme", TT_ORDER).json()
    assert doc["order"]["source"] == "tiktok_shop"
    assert [(li["sku"], li["quantity"]) for li in doc["order"]["line_items"]] == [("SKU-1", 1)]
    assert doc["order"]["total"] == "17.99"
    assert doc["store_url"] == f"https://seller-us.tiktok.com/order/detail?order_no={TT_ORDER}"
