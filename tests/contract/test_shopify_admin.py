"""Contract tests: the Shopify Admin API client against `responses` (what Shopify answers) and against the local stand-in
(what the stand-in refuses as Shopify does): order pages through the Link header, the exclusive end, webhooks, and every
failure an UpstreamError that never carries the admin token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from ordertrail.core.errors import UpstreamError
from ordertrail.sources.shopify_admin import (
    ShopifyAdminClient,
    ShopifyAdminError,
    created_bounds,
    is_shop_domain,
    shop_admin_url,
)
from ordertrail_local.shopify_admin_stand_in import ShopifyAdminStandIn, ShopifyShop

BASE = "https://glowhouse.myshopify.com"
VERSION = "2026-10"
ORDERS = f"{BASE}/admin/api/{VERSION}/orders.json"
WEBHOOKS = f"{BASE}/admin/api/{VERSION}/webhooks.json"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
FROM = datetime(2026, 11, 1, tzinfo=UTC)
TO = datetime(2026, 11, 2, tzinfo=UTC)


def client(base: str = BASE, token: str = TOKEN) -> ShopifyAdminClient:
    """A client for the test shop."""
    return ShopifyAdminClient(base, token, VERSION)


def order(number: int, created_at: datetime) -> dict[str, Any]:
    """A minimal REST order created at a time."""
    return {"id": 5_000_000_000 + number, "name": f"#{1000 + number}", "created_at": created_at.isoformat(), "total_price": "10.00"}


def query_of(call_index: int) -> dict[str, list[str]]:
    """The query of the n-th recorded request."""
    return parse_qs(urlsplit(responses.calls[call_index].request.url or "").query)


def link(page_info: str) -> dict[str, str]:
    """A Link header naming the next page, as Shopify sends it."""
    return {"Link": f'<{ORDERS}?limit=2&page_info={page_info}>; rel="next"'}


# --- against what Shopify answers ---------------------------------------------------------------------------


@responses.activate
def test_three_pages_follow_the_link_header_and_send_only_limit_with_page_info() -> None:
    """Given three pages linked by `rel="next"`, when the client walks them, then the first request carries status=any and
    the range, the later ones only limit and page_info, every request the token header, and the last page has no next."""
    hour = timedelta(hours=1)
    responses.get(ORDERS, json={"orders": [order(1, FROM), order(2, FROM + hour)]}, headers=link("p2"))
    responses.get(ORDERS, json={"orders": [order(3, FROM + 2 * hour), order(4, FROM + 3 * hour)]}, headers=link("p3"))
    responses.get(ORDERS, json={"orders": [order(5, FROM + 4 * hour)]})
    admin, page_info, seen = client(), None, []
    for _ in range(3):
        page = admin.orders_page(FROM, TO, page_info, limit=2)
        seen += [o["name"] for o in page.orders]
        page_info = page.next_page_info
    assert seen == ["#1001", "#1002", "#1003", "#1004", "#1005"] and page_info is None
    assert query_of(0) == {
        "status": ["any"],
        "created_at_min": ["2026-11-01T00:00:00Z"],
        "created_at_max": ["2026-11-01T23:59:59Z"],
        "limit": ["2"],
    }
    assert query_of(1) == {"limit": ["2"], "page_info": ["p2"]} and query_of(2) == {"limit": ["2"], "page_info": ["p3"]}
    assert all(call.request.headers["X-Shopify-Access-Token"] == TOKEN for call in responses.calls)


@responses.activate
def test_the_end_is_exclusive_though_shopifys_created_at_max_is_inclusive() -> None:
    """Given a range ending at midnight, when the page is asked for, then created_at_max is the second before it, and an
    order Shopify still returns at exactly the end belongs to the next range and is left out."""
    responses.get(ORDERS, json={"orders": [order(1, TO - timedelta(seconds=1)), order(2, TO)]})
    page = client().orders_page(FROM, TO, None)
    assert [o["name"] for o in page.orders] == ["#1001"]
    assert created_bounds(FROM + timedelta(microseconds=500), TO + timedelta(microseconds=500)) == (
        "2026-11-01T00:00:01Z",
        "2026-11-02T00:00:00Z",
    )


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "rejected"),
    [
        (401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, {}, "HTTP 401", True),
        (403, {"errors": "[API] This action requires merchant approval for read_orders scope."}, {}, "scopes", True),
        (429, {"errors": "Exceeded 2 calls per second for api client."}, {"Retry-After": "2.0"}, "Retry-After 2.0", False),
        (503, {"errors": "Service Unavailable"}, {}, "HTTP 503", False),
        (404, {"errors": "Not Found"}, {}, "HTTP 404", False),
    ],
)
def test_every_failure_is_an_upstream_error_naming_its_cause(
    status: int, body: dict[str, str], headers: dict[str, str], expected: str, rejected: bool
) -> None:
    """Given Shopify answering 401, 403, 429 (Retry-After), 5xx or 404, when orders are asked for, then an UpstreamError
    names the cause; 401 and 403 mark the token rejected, 429 carries the wait."""
    responses.get(ORDERS, json=body, status=status, headers=headers)
    with pytest.raises(ShopifyAdminError) as raised:
        client().orders_page(FROM, TO, None)
    assert isinstance(raised.value, UpstreamError)
    assert expected in str(raised.value) and raised.value.status == status and raised.value.token_rejected is rejected
    assert raised.value.retry_after == (2.0 if status == 429 else None)
    assert TOKEN not in str(raised.value)


@responses.activate
def test_a_network_failure_or_a_body_that_is_not_json_is_an_upstream_error_without_the_token() -> None:
    """Given a connection that fails (its message naming the token-bearing request) or a 200 that is not JSON, then an
    UpstreamError names the cause and never the token."""
    responses.get(ORDERS, body=requests.ConnectionError(f"connection refused while sending X-Shopify-Access-Token: {TOKEN}"))
    with pytest.raises(UpstreamError) as unreachable:
        client().orders_page(FROM, TO, None)
    assert "unreachable" in str(unreachable.value) and TOKEN not in str(unreachable.value)
    assert unreachable.value.__cause__ is None and unreachable.value.__suppress_context__
    responses.replace(responses.GET, ORDERS, body="<html>busy</html>", status=200)
    with pytest.raises(UpstreamError, match="not JSON"):
        client().orders_page(FROM, TO, None)


@responses.activate
def test_an_error_that_echoes_the_token_is_scrubbed() -> None:
    """Given a refusal whose body repeats the token, when it is raised, then the message shows a placeholder instead."""
    responses.get(WEBHOOKS, json={"errors": f"token {TOKEN} is not valid"}, status=401)
    with pytest.raises(ShopifyAdminError) as raised:
        client().webhooks()
    assert TOKEN not in str(raised.value) and "[admin token]" in str(raised.value) and raised.value.token_rejected


@responses.activate
def test_webhooks_are_listed_and_created_as_json_subscriptions() -> None:
    """Given the shop's webhooks, when listed, then each has id, topic, address and format; when one is created, then the
    body is {"webhook": {topic, address, format: json}} and the created subscription comes back."""
    hook = {"id": 1, "topic": "orders/create", "address": "https://api.example/v1/acme/webhooks/shopify", "format": "json", "fields": []}
    responses.get(WEBHOOKS, json={"webhooks": [hook]})
    responses.post(WEBHOOKS, json={"webhook": {**hook, "id": 2, "topic": "orders/updated"}}, status=201)
    listed = client().webhooks()
    assert [(w.id, w.topic, w.address, w.format) for w in listed] == [(1, "orders/create", hook["address"], "json")]
    created = client().create_webhook("orders/updated", hook["address"])
    assert (created.id, created.topic) == (2, "orders/updated")
    assert json.loads(responses.calls[1].request.body or b"") == {
        "webhook": {"topic": "orders/updated", "address": hook["address"], "format": "json"}
    }


def test_the_admin_url_is_the_shop_unless_configured() -> None:
    """Given a shop domain, then the Admin API is at https://<domain> (pasted schemes and slashes removed), unless
    SHOPIFY_ADMIN_URL points elsewhere; only host names count as shop domains."""
    assert shop_admin_url("Glowhouse.myshopify.com") == BASE
    assert shop_admin_url("https://glowhouse.myshopify.com/") == BASE
    assert shop_admin_url("glowhouse.myshopify.com", "http://127.0.0.1:5000/") == "http://127.0.0.1:5000"
    assert is_shop_domain("acme.myshopify.com") and not is_shop_domain("acme") and not is_shop_domain("acme.myshopify.com/x")
    assert "shpat" not in repr(client())


# --- against the stand-in -----------------------------------------------------------------------------------


@pytest.fixture
def stand_in() -> Iterator[ShopifyAdminStandIn]:
    """The stand-in serving one shop with five orders a day apart around the range, and one at exactly its end."""
    server = ShopifyAdminStandIn([ShopifyShop("glowhouse.myshopify.com", TOKEN)]).start()
    server.put_orders("glowhouse.myshopify.com", [order(n, FROM + timedelta(hours=5 * n)) for n in range(5)] + [order(9, TO)])
    try:
        yield server
    finally:
        server.stop()


def test_the_stand_in_pages_by_cursor_and_keeps_the_end_exclusive(stand_in: ShopifyAdminStandIn) -> None:
    """Given the stand-in, when the client walks pages of 2, then it gets the five orders of the range in three pages
    (the one at exactly the end is left out), and the later requests carried only limit and page_info."""
    admin, names, page_info, pages = client(stand_in.url), [], None, 0
    while True:
        page = admin.orders_page(FROM, TO, page_info, limit=2)
        names += [o["name"] for o in page.orders]
        pages += 1
        page_info = page.next_page_info
        if page_info is None:
            break
    assert (names, pages) == (["#1000", "#1001", "#1002", "#1003", "#1004"], 3)
    assert [set(r["query"]) for r in stand_in.requests[1:]] == [{"limit", "page_info"}] * 2


def test_the_stand_in_refuses_as_shopify_does(stand_in: ShopifyAdminStandIn) -> None:
    """Given the stand-in, then a wrong token is 401 (rejected), more than 250 per page is 400, page_info with a filter is
    400, a webhook address that is not https is 422, the same topic and address twice is 422, and an outage of 429
    carries Retry-After."""
    with pytest.raises(ShopifyAdminError) as wrong:
        client(stand_in.url, "shpat_wrong").webhooks()
    assert wrong.value.status == 401 and wrong.value.token_rejected
    url = f"{stand_in.url}/admin/api/{VERSION}/orders.json"
    headers = {"X-Shopify-Access-Token": TOKEN}
    assert requests.get(url, params={"limit": 251}, headers=headers, timeout=5).status_code == 400
    first = requests.get(url, params={"limit": 1, "status": "any"}, headers=headers, timeout=5)
    page_info = first.links["next"]["url"].split("page_info=")[1]
    mixed = requests.get(url, params={"limit": 1, "page_info": page_info, "status": "any"}, headers=headers, timeout=5)
    assert mixed.status_code == 400 and "cannot be passed when page_info is present" in mixed.json()["errors"]
    admin = client(stand_in.url)
    with pytest.raises(ShopifyAdminError) as plain:
        admin.create_webhook("orders/create", "http://api.example/v1/acme/webhooks/shopify")
    assert plain.value.status == 422 and "https" in str(plain.value)
    admin.create_webhook("orders/create", "https://api.example/v1/acme/webhooks/shopify")
    with pytest.raises(ShopifyAdminError, match="already been taken"):
        admin.create_webhook("orders/create", "https://api.example/v1/acme/webhooks/shopify")
    stand_in.outage(429)
    with pytest.raises(ShopifyAdminError) as limited:
        admin.webhooks()
    assert limited.value.retry_after == 2.0 and not limited.value.token_rejected
    stand_in.recover()
    assert [w.topic for w in admin.webhooks()] == ["orders/create"]
