"""Bad input through the real HTTP API (docs/api.md#errors): the cases fuzzing found, each answered 400/422 naming the
field (a TikTok Shop order detail that cannot be read waits as a hint instead), never a 5xx, and never a partial write.

tests/fuzz/ keeps looking for more of them with generated bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses

from ordertrail.storage.table import unpacked
from tests.conftest import ROOT, Pipeline
from tests.integration.senders import (
    TIKTOK_ORDERS_URL,
    api_key,
    body_bytes,
    get_order,
    moment,
    notification,
    order,
    send_signed_raw,
    serve_tiktok_orders,
    shopify_order,
    stable_items,
    tiktok_order,
)

SIGNED_ROUTES = ["orders", "touchpoints", "webhooks/tiktok-shop", "webhooks/shopify"]


@pytest.fixture
def tiktok_api() -> Iterator[responses.RequestsMock]:
    """TikTok Shop's Open API, faked with `responses`."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def refused(api: Pipeline, route: str, payload: Any) -> dict[str, Any]:
    """POST the payload correctly signed; it must be refused with nothing written. Returns status and error."""
    before = stable_items(api)
    raw = payload if isinstance(payload, bytes) else body_bytes(payload)
    response = send_signed_raw(api, "acme", route, raw)
    assert 400 <= response.status < 500, (response.status, response.body)
    assert stable_items(api) == before, "a refused request wrote something"
    error: dict[str, Any] = response.json()["error"]
    return {"status": response.status, **error}


@pytest.mark.parametrize("route", SIGNED_ROUTES)
def test_json_nested_deeper_than_a_parser_goes_is_400(pipeline: Pipeline, route: str) -> None:
    """Given a correctly signed body of 100,000 nested arrays, when posted to any signed route, then it is 400
    malformed_json (not a RecursionError), and nothing is written."""
    error = refused(pipeline, route, b"[" * 100_000 + b"]" * 100_000)
    assert (error["status"], error["code"]) == (400, "malformed_json")


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"data": "576653688135258178"}, 400, "data"),
        ({"type": True}, 422, "type"),
        ({"timestamp": True}, 422, "timestamp"),
        ({"type": "1"}, 400, "type"),
        ({"tts_notification_id": 7380066284010030890}, 400, "tts_notification_id"),
        ({"data": {"order_id": 576653688135258178, "order_status": "UNPAID", "update_time": 1718305585}}, 400, "data.order_id"),
        ({"data": {"order_id": "5766", "order_status": "UNPAID", "update_time": False}}, 422, "data.update_time"),
        ({"data": {"order_status": "UNPAID", "update_time": 1718305585}}, 422, "data.order_id"),
    ],
)
def test_a_tiktok_notification_of_the_wrong_shape_is_refused_naming_the_field(
    pipeline: Pipeline, tiktok_api: responses.RequestsMock, change: dict[str, Any], status: int, field: str
) -> None:
    """Given a correctly signed TikTok Shop notification whose fields have the wrong JSON type (a string for `data`, a
    boolean for `type`, a number for an id), when delivered, then it is refused naming the field, never acknowledged
    and dropped, and TikTok Shop is not even asked for the order."""
    error = refused(pipeline, "webhooks/tiktok-shop", {**notification("576653688135258178", "n-bad"), **change})
    assert (error["status"], error["field"]) == (status, field)
    assert not tiktok_api.calls


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"line_items": {"sku": "SKU-1", "quantity": 1, "price": "12.00"}}, 400, "line_items"),
        ({"customer": "jane@example.com"}, 400, "customer"),
        ({"note_attributes": [["tiktok_user_id", "u1"]]}, 400, "note_attributes[0]"),
        ({"total_price": "-26.00"}, 422, "total_price"),
        ({"total_price": "-99999999999999.99"}, 422, "total_price"),
        ({"total_tax": "two dollars"}, 422, "total_tax"),
        ({"created_at": 0}, 422, "created_at"),
        ({"created_at": "yesterday"}, 422, "created_at"),
        ({"id": True}, 422, "id"),
        ({"line_items": [{"sku": "SKU-1", "quantity": True, "price": "12.00"}]}, 422, "line_items[0].quantity"),
        ({"discount_codes": [{"code": "X" * 3000}]}, 422, "coupon_codes[0]"),
    ],
)
def test_a_shopify_order_of_the_wrong_shape_is_refused_naming_the_field(
    pipeline: Pipeline, change: dict[str, Any], status: int, field: str
) -> None:
    """Given a correctly signed Shopify order whose fields have the wrong type, negative or absurd money, or a number as
    its time, when delivered, then it is refused naming the field and nothing is stored."""
    error = refused(pipeline, "webhooks/shopify", {**shopify_order(920001, moment()), **change})
    assert (error["status"], error["field"]) == (status, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total": "-99999999999999.99"}, "total"),
        ({"discounts": "-3.00"}, "discounts"),
        ({"total": "1000000000000.01"}, "total"),
        ({"line_items": [{"sku": "SKU-1", "quantity": 1, "unit_price": "-12.00"}]}, "line_items[0].unit_price"),
        ({"created_at": 0}, "created_at"),
        ({"updated_at": "1718305585"}, "updated_at"),
        ({"line_items": [{"sku": f"SKU-{n}", "quantity": 1, "unit_price": "1.00"} for n in range(251)]}, "line_items"),
        ({"coupon_codes": ["C" * 101]}, "coupon_codes[0]"),
        ({"client": {"ip": "not-an-ip"}}, "client.ip"),
    ],
)
def test_an_order_with_negative_absurd_or_oversized_values_is_422_naming_the_field(
    pipeline: Pipeline, change: dict[str, Any], field: str
) -> None:
    """Given POST /orders with negative money, an amount over the limit, a number as a time, more lines or a longer coupon
    code than an item can hold, when posted, then it is 422 naming the field and nothing is stored."""
    error = refused(pipeline, "orders", {**order("8001", "u-8001", moment()), **change})
    assert (error["status"], error["field"]) == (422, field)


@pytest.mark.parametrize(
    ("touchpoint", "field"),
    [
        ({"kind": "comment", "post": {"id": "v1"}, "keywords": ["k" * 3000]}, "keywords[0]"),
        ({"kind": "comment", "post": {"id": "v1"}, "occurred_at": 1718305585}, "occurred_at"),
        ({"kind": "shop_link", "conversation_id": "c1", "skus": []}, "product_ids"),
        ({"kind": "ad_click", "ttclid": "E.C.P.1", "ip": "999.1.1.1"}, "ip"),
    ],
)
def test_a_touchpoint_breaking_a_rule_is_422_naming_the_field(pipeline: Pipeline, touchpoint: dict[str, Any], field: str) -> None:
    """Given a touchpoint with a keyword longer than a counter key can hold, a number as its time, a shop link naming no
    product, or an ip that is not one, when posted alone, then it is 422 naming the field and nothing is stored."""
    body = {"id": "tp-bad", "occurred_at": moment().isoformat(), "buyer": {"user_id": "u-1"}, **touchpoint}
    error = refused(pipeline, "touchpoints", body)
    assert (error["status"], error["field"]) == (422, field)


def test_an_unreadable_tiktok_order_detail_is_kept_as_a_waiting_hint_until_the_api_recovers(
    pipeline: Pipeline, tiktok_api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given TikTok Shop answers the order detail without `create_time` (then with money it cannot read), when its
    notification arrives, then it is answered 200, no order is stored and the hint waits saying why; when the retry runs
    after TikTok's API recovered, then the order is fetched again and stored."""
    at = moment()
    good = tiktok_order("576653688135258100", "7494012345678901234", at, at + timedelta(minutes=1))
    no_create_time = {k: v for k, v in good.items() if k != "create_time"}
    for attempt, broken in enumerate((no_create_time, {**good, "payment": {**good["payment"], "total_amount": "12,00"}}), 1):
        serve_tiktok_orders(tiktok_api, [broken])
        note = notification(good["id"], f"n-unreadable-{attempt}", update_time=int(at.timestamp()) + 60)
        response = send_signed_raw(pipeline, "acme", "webhooks/tiktok-shop", body_bytes(note))
        assert response.status == 200, response.body
        assert not [i for i in pipeline.items() if i.get("type") == "order"]
        (hint,) = [i for i in pipeline.items() if i.get("type") == "hint"]
        assert hint["status"] == "waiting" and hint["last_error"]

    serve_tiktok_orders(tiktok_api, [good])
    monkeypatch.setattr("ordertrail.runtime.services.now", lambda: datetime.now(UTC) + timedelta(hours=2))
    pipeline.run_schedule("RetryOrderHintsFunction")
    assert get_order(pipeline, "acme", good["id"]).json()["order"]["id"] == good["id"]
    assert not [i for i in pipeline.items() if i.get("type") == "hint"]
    assert sum(1 for call in tiktok_api.calls if call.request.url.startswith(TIKTOK_ORDERS_URL)) == 3


@pytest.mark.parametrize(
    ("method", "rest", "body"),
    [
        ("PUT", "settings", b"\x18\xff\xfefQ\x80"),
        ("POST", "conversions/export", b"\xc3\x28{}"),
        ("PUT", "coupons/MAYA15", b"[" * 100_000 + b"]" * 100_000),
        ("POST", "orders/1001/review", b'{"decision": "confirm"' + b"\xff}"),
    ],
)
def test_a_team_route_with_a_body_that_is_not_utf8_json_is_400(pipeline: Pipeline, method: str, rest: str, body: bytes) -> None:
    """Given a team key, when a JSON route gets a body that is not UTF-8 or is nested too deeply, then it is 400
    malformed_json in the error shape of docs/api.md#error-shape, not a 500."""
    headers = {**api_key("acme"), "Content-Type": "application/json"}
    response = pipeline.call(method, f"/v1/acme/{rest}", body, headers)
    assert response.status == 400, response.body
    assert response.json()["error"]["code"] == "malformed_json"


def test_the_contract_payloads_themselves_are_accepted(pipeline: Pipeline) -> None:
    """Given the real-shaped Shopify order of events/contract, when delivered, then it is accepted (the checks above
    refuse what is wrong, not what is merely unusual)."""
    raw = json.loads((ROOT / "events" / "contract" / "shopify_order.json").read_text())
    response = send_signed_raw(pipeline, "acme", "webhooks/shopify", body_bytes(raw))
    assert response.status == 200, response.body


class RequestCounter:
    """DynamoDB requests by operation, made by every client built after it is set up (botocore's before-call event)."""

    def __init__(self) -> None:
        import boto3

        self.calls: dict[str, int] = {}
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1


def test_insights_for_weeks_years_ago_read_those_weeks_only(pipeline: Pipeline) -> None:
    """Given a team key, when insights are asked for the weeks up to a day three years ago, then the answer covers the 6
    weeks ending there and the last 7 days, and it reads only those days (not every day from then to today)."""
    requests = RequestCounter()
    to = (moment(3 * 365)).date()
    response = pipeline.call("GET", "/v1/acme/reports/insights", headers=api_key("acme"), query=f"to={to.isoformat()}")
    assert response.status == 200, response.body
    weekly = response.json()["weekly"]
    assert len(weekly["weeks"]) == 6 and weekly["weeks"][-1]["week_start"] <= to.isoformat()
    # 6 weeks + 7 days = 49 days: one product Query per day and a few BatchGetItems, never one per day since then (~1,100).
    assert requests.calls.get("Query", 0) <= 49 and sum(requests.calls.values()) < 60, requests.calls


@pytest.mark.parametrize(
    ("rest", "query", "field", "code"),
    [
        ("reports/insights", "to=1999-12-31", "to", "invalid_range"),
        ("reports/posts", "from=2000-01-01", "from", "range_too_long"),
        ("reports/time-to-order", "from=0001-01-01&to=0001-01-02", "from", "invalid_range"),
        ("reports/keywords", "to=9999-12-31", "to", "invalid_range"),
        ("reports/insights", "from=2020-01-06&to=2026-11-30", "from", "range_too_long"),
        ("exports/attributed-orders.csv", "from=2024-01-01&to=2025-06-01", "from", "range_too_long"),
        ("exports/customers.csv", "from=2025-06-02&to=2025-06-01", "from", "invalid_range"),
    ],
)
def test_a_report_range_past_its_cap_is_422_naming_the_field(pipeline: Pipeline, rest: str, query: str, field: str, code: str) -> None:
    """Given a team key, when a report is asked for days before 2000, after tomorrow, backwards, or more than it reads
    (366 days; 104 weeks for insights), then it is 422 naming the field, answered at once."""
    response = pipeline.call("GET", f"/v1/acme/{rest}", headers=api_key("acme"), query=query)
    assert response.status == 422, response.body
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (field, code)


TEAM_BODIES = [
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'),
    ("application/json", b"\xff\xfe{not utf-8"),
    ("text/plain", b'{"time_zone": "UTC"}'),
    ("application/octet-stream", b"\x00\x01\x02"),
    ("application/xml", b"<settings/>"),
    ("application/json", b'{"from": 7, "time_zone": 7, "creator": 7}'),
]


@pytest.mark.parametrize(("content_type", "body"), TEAM_BODIES)
@pytest.mark.parametrize(("method", "rest"), [("PUT", "settings"), ("POST", "conversions/export"), ("PUT", "coupons/MAYA15")])
def test_a_team_route_checks_the_key_before_it_reads_the_body(
    pipeline: Pipeline, method: str, rest: str, content_type: str, body: bytes
) -> None:
    """Given any body (multipart, not UTF-8, not JSON, or JSON of the wrong type), when a team route gets it without a key,
    then it is 401; with another tenant's key, 403; with the tenant's key and a media type other than JSON, 415 naming
    Content-Type; all in the error shape of docs/api.md#error-shape, and nothing is written."""
    before = stable_items(pipeline)
    answers = {}
    for who, headers in (("no key", {}), ("globex's key", api_key("globex")), ("acme's key", api_key("acme"))):
        response = pipeline.call(method, f"/v1/acme/{rest}", body, {**headers, "Content-Type": content_type})
        answers[who] = (response.status, response.json()["error"]["code"] if response.status >= 400 else None)
    assert answers["no key"] == (401, "invalid_api_key")
    assert answers["globex's key"] == (403, "wrong_tenant")
    if content_type != "application/json":
        assert answers["acme's key"] == (415, "unsupported_media_type")
    else:
        assert answers["acme's key"][0] in (400, 422)
    assert stable_items(pipeline) == before


@pytest.mark.parametrize("order_id", ["#1001", "WEB 1001", "A/B-7", "café-9", "50%off", "q?1", "x+y", "%41"])
def test_an_order_id_that_needs_percent_encoding_can_be_read_back_and_reviewed(pipeline: Pipeline, order_id: str) -> None:
    """Given an order whose id needs percent-encoding in a URL (`#`, a space, `/`, non-ASCII, `%`, `?`, `+`), when it is
    stored and then read with its id percent-encoded in the path, then GET /orders/{id} finds exactly that order, and the
    review route reaches it too (409: it is not a soft match)."""
    from urllib.parse import quote

    assert send_signed_raw(pipeline, "acme", "orders", body_bytes(order(order_id, None, moment()))).status == 202
    path = f"/v1/acme/orders/{quote(order_id, safe='')}"

    found = pipeline.call("GET", path, headers=api_key("acme"))
    assert found.status == 200, found.body
    assert found.json()["order"]["id"] == order_id
    review = pipeline.call("POST", f"{path}/review", b'{"decision": "confirm"}', {**api_key("acme"), "Content-Type": "application/json"})
    assert (review.status, review.json()["error"]["code"]) == (409, "not_a_soft_match")


@pytest.mark.parametrize("order_id", ["10\x0001", "10\n01", "\t", "x\x7f"])
def test_an_order_id_no_url_can_carry_is_refused_when_written(pipeline: Pipeline, order_id: str) -> None:
    """Given an order id with NUL or another control character (no URL can address it), when posted, then it is 422
    naming `id` and nothing is stored."""
    error = refused(pipeline, "orders", order(order_id, None, moment()))
    assert (error["status"], error["field"]) == (422, "id")


def long_clicks(user: str, at: datetime, count: int) -> list[dict[str, Any]]:
    """`count` ad clicks by one buyer in the hour before `at`, each with a long (legal) URL and user agent."""
    return [
        {
            "id": f"clk-{user}-{n}",
            "kind": "ad_click",
            "occurred_at": (at - timedelta(minutes=60 - n * 0.5)).isoformat(),
            "buyer": {"user_id": user},
            "ttclid": f"E.C.P.{user}.{n:03d}",
            "url": f"https://glow.example/p/{n}?ttclid=E.C.P.{user}.{n:03d}&q=" + "x" * 3900,
            "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0 " + "y" * 980,
        }
        for n in range(count)
    ]


def clicked_then_ordered(api: Pipeline, user: str, order_id: str) -> None:
    """The buyer's 80 long ad clicks (in batches of 20), then their order."""
    at = moment()
    clicks = long_clicks(user, at, 80)
    for chunk in range(0, 80, 20):
        assert send_signed_raw(api, "acme", "touchpoints", body_bytes({"touchpoints": clicks[chunk : chunk + 20]})).status == 202
    assert send_signed_raw(api, "acme", "orders", body_bytes(order(order_id, user, at))).status == 202


def test_a_buyer_with_80_long_ad_clicks_is_still_attributed(pipeline: Pipeline) -> None:
    """Given a buyer with 80 ad clicks whose URLs and user agents are as long as allowed, when they order, then the order
    is attributed to an ad click (its conversion keeps the most recent touches, with browser details on the latest 10:
    the item stays far below DynamoDB's 400 KB) and carries no error."""
    clicked_then_ordered(pipeline, "u-many", "8080")

    attribution = get_order(pipeline, "acme", "8080").json()["attribution"]
    assert attribution["method"] == "ad_click" and "error" not in attribution
    assert len(attribution["evidence"][2]["touchpoint_ids"]) <= 20
    conversion = next(i for i in pipeline.items() if i.get("type") == "conversion" and "8080" in i["SK"])
    touches = json.loads(unpacked(conversion["data"]) or "")["touches"]
    assert len(touches) == 80 and sum(1 for t in touches if t.get("url")) == 10


def test_an_order_whose_attribution_cannot_be_stored_says_so_instead_of_staying_empty(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the conversion's caps lifted (so 80 long ad clicks make its item larger than DynamoDB's 400 KB), when the
    buyer orders, then the attribution is not silently missing: GET /orders shows `attribution.error` saying why, the
    order counts as organic (nothing credited), and the stream record is not failed forever."""
    from ordertrail.core import conversions
    from ordertrail.storage import attributions

    monkeypatch.setattr(conversions, "MAX_TOUCHES", 10_000)
    monkeypatch.setattr(conversions, "MAX_DETAILED", 10_000)
    # Stored uncompressed: 80 copies of one long URL compress so well that the packed item would fit after all.
    monkeypatch.setattr(attributions, "packed", lambda text: text.encode())
    clicked_then_ordered(pipeline, "u-huge", "8081")

    attribution = get_order(pipeline, "acme", "8081").json()["attribution"]
    assert attribution["method"] == "organic"
    assert attribution["error"].startswith("this order could not be attributed: DynamoDB refused")
    assert pipeline.pump.dead_letters == []
