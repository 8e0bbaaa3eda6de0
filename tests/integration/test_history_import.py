"""Importing a store's history (docs/operations.md#import-history): POST /imports runs the template's ImportHistoryStateMachine in
moto's interpreter with the real ImportPlan, ImportPages and ImportFinalize handlers, reading the TikTok Shop stand-in's
order search on loopback, and every imported order reaches AttributeFunction through the table's stream."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from ordertrail.storage.tenant_secrets import FileTenantDirectory
from ordertrail_local.apigw import HttpRequest
from ordertrail_local.dynamodb_local import DynamoDBLocal
from ordertrail_local.loopback import HttpResponse
from ordertrail_local.shopify_admin_stand_in import ShopifyAdminStandIn, shops_from_tenants
from ordertrail_local.stack import reset_process_caches
from ordertrail_local.tiktok_shop_stand_in import SEARCH_PATH, TikTokShopStandIn, credentials_from_tenants
from tests.conftest import TENANTS, ExportPipeline
from tests.integration.senders import notification, send_shopify_webhook, shopify_order, sign_tiktok_webhook, tiktok_order

KEY = {"Authorization": "Bearer acme-team-key", "Content-Type": "application/json"}
NOW = datetime.now(UTC).replace(microsecond=0)


SHOP = "acme-shop.myshopify.com"


@dataclass
class History:
    """The pipeline with both state machines, and a TikTok Shop and a Shopify shop whose past orders the stand-ins serve."""

    api: ExportPipeline
    stand_in: TikTokShopStandIn
    shopify: ShopifyAdminStandIn

    attribute: bool = True  # False: leave the stream undelivered (the 10,000-order test is about the import alone)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> HttpResponse:
        """One team request through the HTTP API (then the stream is delivered, when `attribute`)."""
        raw = json.dumps(body).encode() if body is not None else b""
        return self.api.harness.handle(HttpRequest(method, path, headers=list(KEY.items()), body=raw), drain=self.attribute)

    def start(self, source: str, start: datetime, end: datetime | None = None) -> dict[str, Any]:
        """POST /v1/acme/imports; the execution then runs in moto's interpreter (wait with finish())."""
        body: dict[str, Any] = {"source": source, "from": start.isoformat()}
        if end is not None:
            body["to"] = end.isoformat()
        response = self.call("POST", "/v1/acme/imports", body)
        assert response.status == 202, response.body
        return dict(response.json())

    def finish(self, import_id: str) -> dict[str, Any]:
        """Wait for the import's execution, deliver the stream (when `attribute`), and read GET /imports/{id}."""
        assert self.api.sfn is not None
        arn = f"{self.api.sfn.arn_of('ImportHistoryStateMachine').replace(':stateMachine:', ':execution:')}:{import_id}"
        self.api.sfn.wait(arn, timeout=900, poll=0.5)  # a fast poll would take the CPU from the execution itself
        if self.attribute:
            self.api.harness.drain()
        return self.report(import_id)

    def report(self, import_id: str) -> dict[str, Any]:
        """GET /v1/acme/imports/{id}."""
        response = self.call("GET", f"/v1/acme/imports/{import_id}")
        assert response.status == 200, response.body
        return dict(response.json())

    def order(self, order_id: str) -> dict[str, Any]:
        """GET /v1/acme/orders/{id}."""
        response = self.call("GET", f"/v1/acme/orders/{order_id}")
        assert response.status == 200, response.body
        return dict(response.json())


@pytest.fixture
def history(export_pipeline: ExportPipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[History]:
    """acme's TikTok Shop (its token and cipher in the secret) and its Shopify shop (domain and admin token added to the
    secret) are the stand-ins; both start with no orders. globex has no Shopify admin token."""
    assert export_pipeline.tenants_file is not None
    FileTenantDirectory(export_pipeline.tenants_file).update(
        "acme", lambda config: {**config, "shopify": {**config["shopify"], "shop_domain": SHOP, "admin_access_token": "shpat_acme"}}
    )
    tenants = json.loads(export_pipeline.tenants_file.read_text())
    stand_in = TikTokShopStandIn(credentials_from_tenants(tenants)).start()
    shopify = ShopifyAdminStandIn(shops_from_tenants(tenants)).start()
    monkeypatch.setenv("TIKTOK_SHOP_API_URL", stand_in.url)
    monkeypatch.setenv("SHOPIFY_ADMIN_URL", shopify.url)
    reset_process_caches()
    try:
        yield History(export_pipeline, stand_in, shopify)
    finally:
        stand_in.stop()
        shopify.stop()


def past_orders(count: int, first: datetime, spacing: timedelta) -> list[dict[str, Any]]:
    """`count` TikTok Shop orders created `spacing` apart from `first`, by a few returning buyers."""
    orders = []
    for n in range(count):
        created = first + spacing * n
        orders.append(tiktok_order(f"5770{n:014d}", f"buyer-{n % 97}", created, created + timedelta(minutes=5)))
    return orders


def test_an_import_of_ten_thousand_orders_over_many_pages_reports_its_progress_and_changes_nothing_when_repeated(
    history: History, dynamodb_backend: DynamoDBLocal | None
) -> None:
    """Given 10,000 past orders over 70 days in TikTok Shop, when the team imports them, then the run reads three windows of
    at most 30 days in 100 pages and reports 10,000 imported; and when it is run again, or TikTok delivers one of them by
    webhook, nothing changes: 10,000 duplicates, and the order is still one order."""
    history.attribute = False  # attributing 10,000 orders is the other tests' and the benchmarks' business
    # The 10,000 run is moto's; DynamoDB Local, whose JVM the whole session shares, runs the same story on 2,000 orders.
    count = 10_000 if dynamodb_backend is None else 2_000
    start = NOW - timedelta(days=70)
    history.stand_in.put_orders(past_orders(count, start + timedelta(minutes=1), timedelta(days=69) / count))

    first = history.finish(history.start("tiktok_shop", start, NOW)["import_id"])

    assert first["status"] == "succeeded", first.get("error")
    assert (first["windows_planned"], first["windows_done"]) == (3, 3)
    assert [(w["end"] > w["start"], w["done"]) for w in first["windows"]] == [(True, True)] * 3
    assert all(datetime.fromisoformat(w["end"]) - datetime.fromisoformat(w["start"]) <= timedelta(days=30) for w in first["windows"])
    assert first["pages"] >= count // 100
    assert (first["seen"], first["imported"], first["duplicates"], first["unreadable"]) == (count, count, 0, 0)
    searches = [r for r in history.stand_in.requests if r["path"] == SEARCH_PATH]
    assert len(searches) == first["pages"] and all(int(r["query"]["page_size"]) == 100 for r in searches)

    again = history.finish(history.start("tiktok_shop", start, NOW)["import_id"])
    assert (again["status"], again["imported"], again["duplicates"]) == ("succeeded", 0, count)

    one = history.stand_in.orders["577000000000000042"]
    raw = json.dumps(notification(one["id"], "n-import-1", update_time=one["update_time"])).encode()
    shop = TENANTS["acme"]["tiktok_shop"]
    headers = [("Content-Type", "application/json"), ("Authorization", sign_tiktok_webhook(shop["app_key"], shop["app_secret"], raw))]
    hint = HttpRequest("POST", "/v1/acme/webhooks/tiktok-shop", headers=headers, body=raw)
    assert history.api.harness.handle(hint, drain=False).status == 200
    history.api.harness.consumers["FetchOrderFunction"].pump.drain()  # only the fetch: it finds the order already stored
    assert not [item for item in history.api.items() if item.get("type") == "hint"]
    assert history.order(one["id"])["order"]["id"] == one["id"]
    assert len([item for item in history.api.items() if item.get("type") == "order"]) == count


def test_an_imported_order_says_it_predates_the_connection_and_counts_in_the_reports(history: History) -> None:
    """Given three orders of last month, when they are imported, then each is attributed (organic, with no touchpoints
    recorded then), its attribution says it was placed before the store was connected, and insights count them, all time
    and in the weekly series."""
    start = NOW - timedelta(days=40)
    history.stand_in.put_orders(past_orders(3, start + timedelta(days=1), timedelta(days=1)))

    report = history.finish(history.start("tiktok_shop", start)["import_id"])

    assert (report["imported"], report["windows_planned"]) == (3, 2)
    shown = history.order("577000000000000001")
    note = shown["attribution"]["predates_connection"]
    assert note["import_id"] == report["import_id"]
    assert "before the store was connected" in note["detail"]
    assert shown["attribution"]["method"] == "organic"
    insights = history.api.call("GET", "/v1/acme/reports/insights", headers=KEY, query="weeks=8")
    assert insights.status == 200, insights.body
    all_time = insights.json()["all_time"]
    assert (all_time["orders"], all_time["customers"]) == (3, 3)
    assert sum(week["orders"] for week in insights.json()["weekly"]["weeks"]) == 3


def test_a_shopify_import_pages_through_the_admin_api_and_a_later_webhook_moves_the_order_forward(history: History) -> None:
    """Given 300 past Shopify orders, when the team imports Shopify, then the run pages through orders.json (status=any,
    250 a page) and stores all 300 with the shop's domain on their landing URLs; when Shopify then sends one of them by
    webhook unchanged nothing changes, and when it sends a newer state (cancelled) that state is stored."""
    start = NOW - timedelta(days=20)
    orders = [shopify_order(9_100_000 + n, start + timedelta(hours=1, minutes=n), landing_site="/products/glow") for n in range(300)]
    history.shopify.put_orders(SHOP, orders)

    report = history.finish(history.start("shopify", start)["import_id"])

    assert (report["status"], report["pages"], report["imported"], report["duplicates"]) == ("succeeded", 2, 300, 0)
    listed = [r for r in history.shopify.requests if r["path"].endswith("/orders.json")]
    assert listed[0]["query"]["status"] == "any" and listed[0]["query"]["limit"] == "250" and "page_info" in listed[1]["query"]
    first = history.order("9100000")
    assert first["order"]["landing"]["url"] == f"https://{SHOP}/products/glow"
    assert first["attribution"]["predates_connection"]["import_id"] == report["import_id"]

    assert send_shopify_webhook(history.api, "acme", orders[0], shop_domain=SHOP).json() == {"received": True}
    later = {**orders[0], "updated_at": (NOW - timedelta(minutes=1)).isoformat(), "cancelled_at": (NOW - timedelta(minutes=1)).isoformat()}
    assert send_shopify_webhook(history.api, "acme", later, topic="orders/cancelled", shop_domain=SHOP).status == 200
    assert history.order("9100000")["order"]["status"] == "cancelled"
    assert len([item for item in history.api.items() if item.get("type") == "order"]) == 300


def test_connecting_a_tiktok_shop_imports_its_last_ninety_days_and_the_page_names_the_import(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given acme's app can be authorized and TikTok Shop holds orders of the last 100 days, when the seller connects
    through OAuth, then the callback's page names the import it started (trigger `connect`), which brings in the orders
    of the last 90 days (IMPORT_ON_CONNECT_DAYS) and none older."""
    assert history.api.tenants_file is not None
    FileTenantDirectory(history.api.tenants_file).update(
        "acme", lambda config: {**config, "tiktok_shop": {**config["tiktok_shop"], "service_id": "acme-service"}}
    )
    monkeypatch.setenv("TIKTOK_SHOP_AUTH_URL", history.stand_in.url)
    monkeypatch.setenv("TIKTOK_SHOP_AUTHORIZE_URL", history.stand_in.url + "/open/authorize")
    reset_process_caches()
    history.stand_in.redirect_uri = "https://ordertrail.test/v1/connections/tiktok-shop/callback"
    history.stand_in.put_orders(past_orders(100, NOW - timedelta(days=100) + timedelta(hours=1), timedelta(days=1)))

    authorize = history.call("GET", "/v1/acme/connections/tiktok-shop/authorize")
    consent = requests.get(authorize.headers["location"], allow_redirects=False, timeout=5)
    back = urlsplit(consent.headers["location"])
    page = history.api.harness.handle(HttpRequest("GET", back.path, query=back.query))

    assert page.status == 200, page.body
    found = re.search(r"import <code>([A-Za-z0-9_-]+)</code>", page.body.decode())
    assert found, page.body
    report = history.finish(found.group(1))
    assert (report["trigger"], report["status"], report["windows_planned"]) == ("connect", "succeeded", 3)
    assert report["imported"] == 90


def test_an_outage_during_an_import_is_retried_and_loses_nothing(history: History) -> None:
    """Given TikTok Shop answers 503 to the first order searches, when the team imports, then the pages step is retried
    (Step Functions' back-off) and the import still brings in every order."""
    start = NOW - timedelta(days=10)
    history.stand_in.put_orders(past_orders(250, start + timedelta(hours=1), timedelta(minutes=20)))
    history.stand_in.outage()
    calls = {"n": 0}
    real_answer = history.stand_in.answer

    def flaky(method: str, raw_path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] > 2:
            history.stand_in.recover()
        return real_answer(method, raw_path, headers, body)

    history.stand_in.answer = flaky  # type: ignore[method-assign]

    report = history.finish(history.start("tiktok_shop", start)["import_id"])

    assert report["status"] == "succeeded", report.get("error")
    assert report["imported"] == 250
    assert history.api.sfn is not None
    assert [w.backoff for w in history.api.sfn.recorded_waits][:2] == [30.0, 60.0]  # the ASL's back-off for RetryableImportError
    failed = [i for i in history.api.sfn.invocations if i.function == "ImportPagesFunction" and i.error_type]
    assert [i.error_type for i in failed] == ["RetryableImportError", "RetryableImportError"]


def test_a_refused_token_is_refreshed_once_or_fails_the_import_in_words(history: History) -> None:
    """Given the shop's token is refused and cannot be refreshed, when the team imports, then the import fails with
    `authorization_error` saying to connect the store again, and nothing was imported."""
    start = NOW - timedelta(days=5)
    history.stand_in.put_orders(past_orders(5, start + timedelta(hours=1), timedelta(hours=2)))
    creds = history.stand_in.credentials["acme-app-key"]
    history.stand_in.credentials["acme-app-key"] = type(creds)(**{**creds.__dict__, "access_token": "another-token"})

    report = history.finish(history.start("tiktok_shop", start)["import_id"])

    assert report["status"] == "failed"
    assert report["error"]["code"] == "authorization_error"
    assert "connect the store again" in report["error"]["message"]
    assert report["imported"] == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"source": "etsy", "from": "2026-01-01T00:00:00Z"}, 422, "source"),
        ({"source": "tiktok_shop"}, 422, "from"),
        ({"source": "tiktok_shop", "from": "2026-01-01T00:00:00"}, 422, "from"),
        ({"source": "tiktok_shop", "from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}, 422, "from"),
        ({"source": "tiktok_shop", "from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 422, "from"),
        ({"source": "tiktok_shop", "from": "2026-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}, 422, "to"),
        ({"source": "tiktok_shop", "from": "2026-01-01T00:00:00Z", "extra": 1}, 422, "extra"),
    ],
)
def test_a_bad_import_request_names_the_field_and_starts_nothing(history: History, body: dict[str, Any], status: int, field: str) -> None:
    """Given a request with a wrong source, a missing or offset-less time, an inverted, too long or future range, or an
    unknown member, then it is refused naming the field, and no execution starts."""
    response = history.api.call("POST", "/v1/acme/imports", body, KEY)

    assert response.status == status, response.body
    assert field in json.dumps(response.json()["error"])
    assert history.api.sfn is not None
    executions = history.api.sfn.client("stepfunctions").list_executions(
        stateMachineArn=history.api.sfn.arn_of("ImportHistoryStateMachine")
    )
    assert executions["executions"] == []


def test_an_import_of_a_store_that_is_not_connected_is_409_and_an_unknown_import_is_404(history: History) -> None:
    """Given globex has no Shopify admin token, when it imports Shopify, then 409 `store_not_connected`; an unknown import is 404."""
    globex = {**KEY, "Authorization": "Bearer globex-team-key"}
    assert "admin_access_token" not in TENANTS["globex"]["shopify"]
    body = {"source": "shopify", "from": (NOW - timedelta(days=3)).isoformat()}
    response = history.api.call("POST", "/v1/globex/imports", body, globex)
    assert response.status == 409, response.body
    assert response.json()["error"]["code"] == "store_not_connected"
    missing = history.api.call("GET", "/v1/acme/imports/nope", headers=KEY)
    assert missing.status == 404
