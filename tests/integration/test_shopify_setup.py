"""Verifying a tenant's Shopify connection through the template's HTTP API on moto (the real ReportsFunction), with the
Shopify Admin stand-in on loopback as the shop: missing webhooks registered once, a subscription elsewhere reported and
kept, a refused token reported, no Shopify section a 409, and the connections list showing Shopify."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ordertrail.sources.shopify_admin import ShopifyAdminClient
from ordertrail.storage.tenant_secrets import FileTenantDirectory
from ordertrail_local.loopback import HttpResponse
from ordertrail_local.shopify_admin_stand_in import ShopifyAdminStandIn, ShopifyShop
from ordertrail_local.stack import reset_process_caches
from tests.conftest import Pipeline

KEY = {"Authorization": "Bearer acme-team-key"}
VERIFY = "/v1/acme/connections/shopify/verify"
DOMAIN = "acme-store.myshopify.com"
TOKEN = "shpat_acme0123456789abcdef0123456789"
# The pipeline's requests carry no Host: API Gateway's domain is then `localhost`, the local stack's plain http.
HERE = "http://localhost/v1/acme/webhooks/shopify"


@dataclass
class Shop:
    """The pipeline with acme's Shopify shop and admin token in its secret, and the stand-in playing that shop."""

    api: Pipeline
    stand_in: ShopifyAdminStandIn
    tenants_file: Path
    responses: list[HttpResponse]

    def verify(self, tenant: str = "acme") -> HttpResponse:
        """POST .../connections/shopify/verify with the tenant's key."""
        key = {"Authorization": f"Bearer {tenant}-team-key"}
        response = self.api.call("POST", f"/v1/{tenant}/connections/shopify/verify", headers=key)
        self.responses.append(response)
        return response

    def set_shopify(self, tenant: str, shopify: dict[str, Any] | None) -> None:
        """Replace the tenant's Shopify section (None removes it), as an operator editing the secret would."""

        def change(config: dict[str, Any]) -> dict[str, Any]:
            kept = {name: value for name, value in config.items() if name != "shopify"}
            return kept if shopify is None else {**kept, "shopify": shopify}

        FileTenantDirectory(self.tenants_file).update(tenant, change)
        reset_process_caches()  # a warm Lambda sees a changed secret after its cache expires; here at once

    def connections(self, tenant: str = "acme") -> dict[str, dict[str, Any]]:
        """GET /connections, by store."""
        response = self.api.call("GET", f"/v1/{tenant}/connections", headers={"Authorization": f"Bearer {tenant}-team-key"})
        assert response.status == 200, response.body
        self.responses.append(response)
        return {view["store"]: view for view in response.json()["connections"]}


@pytest.fixture
def shop(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """acme's secret names its shop and admin token (globex's Shopify section has only the client secret); Admin API
    calls go to the stand-in through SHOPIFY_ADMIN_URL."""
    tenants_file = Path(os.environ["ORDERTRAIL_TENANTS_FILE"])
    stand_in = ShopifyAdminStandIn([ShopifyShop(DOMAIN, TOKEN)]).start()
    monkeypatch.setenv("SHOPIFY_ADMIN_URL", stand_in.url)
    monkeypatch.delenv("PUBLIC_API_URL", raising=False)
    shop = Shop(pipeline, stand_in, tenants_file, [])
    secret = json.loads(tenants_file.read_text())["tenants"]["acme"]["shopify"]["client_secret"]
    shop.set_shopify("acme", {"client_secret": secret, "shop_domain": DOMAIN, "admin_access_token": TOKEN})
    try:
        yield shop
    finally:
        stand_in.stop()
        reset_process_caches()
        assert all(TOKEN not in r.text + json.dumps(r.headers) for r in shop.responses), "a response carried the admin token"


def states(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The report's subscriptions as (topic, address, state)."""
    return [(s["topic"], s["address"], s["state"]) for s in report["subscriptions"]]


def test_missing_subscriptions_are_registered_once_and_a_second_verify_is_ok(shop: Shop) -> None:
    """Given a shop with no webhooks, when the team verifies, then orders/create and orders/updated are registered at this
    deployment's webhook route and the status is fixed; when it verifies again, then both are present, status ok, and
    nothing more is registered."""
    first = shop.verify()
    assert first.status == 200, first.body
    assert first.headers.get("cache-control") == "no-store"
    report = first.json()
    assert (report["status"], report["shop_domain"], report["webhook_url"], report["problems"]) == ("fixed", DOMAIN, HERE, [])
    assert states(report) == [("orders/create", HERE, "registered"), ("orders/updated", HERE, "registered")]
    hooks = shop.stand_in.webhooks_of(DOMAIN)
    assert sorted((h["topic"], h["address"], h["format"]) for h in hooks) == [
        ("orders/create", HERE, "json"),
        ("orders/updated", HERE, "json"),
    ]

    again = shop.verify().json()
    assert (again["status"], again["problems"]) == ("ok", [])
    assert states(again) == [("orders/create", HERE, "present"), ("orders/updated", HERE, "present")]
    assert len(shop.stand_in.webhooks_of(DOMAIN)) == 2
    posts = [r for r in shop.stand_in.requests if r["method"] == "POST"]
    assert len(posts) == 2 and all(r["shop"] == DOMAIN for r in shop.stand_in.requests)


def test_a_subscription_elsewhere_is_reported_and_left_in_place(shop: Shop) -> None:
    """Given orders/create already delivered to an old address, when the team verifies, then that subscription is reported
    wrong_address and kept (nothing is deleted), ours is registered beside it, and the status asks for attention with a
    problem naming both addresses; a second verify registers nothing."""
    old = "https://old-deployment.example/v1/acme/webhooks/shopify"
    ShopifyAdminClient(shop.stand_in.url, TOKEN, "2026-10").create_webhook("orders/create", old)
    report = shop.verify().json()
    assert report["status"] == "needs_attention"
    assert states(report) == [
        ("orders/create", old, "wrong_address"),
        ("orders/create", HERE, "registered"),
        ("orders/updated", HERE, "registered"),
    ]
    (problem,) = report["problems"]
    assert old in problem and HERE in problem and "left that subscription in place" in problem
    assert old in [h["address"] for h in shop.stand_in.webhooks_of(DOMAIN)]
    again = shop.verify().json()
    assert again["status"] == "needs_attention" and "registered" not in [s["state"] for s in again["subscriptions"]]
    assert len(shop.stand_in.webhooks_of(DOMAIN)) == 3


def test_a_refused_token_is_a_problem_the_seller_can_act_on(shop: Shop) -> None:
    """Given an admin token Shopify does not know (the app was reinstalled), when the team verifies, then 200 with status
    needs_attention and a problem saying to put the new token in the secret; nothing is registered."""
    secret = json.loads(shop.tenants_file.read_text())["tenants"]["acme"]["shopify"]
    shop.set_shopify("acme", {**secret, "admin_access_token": "shpat_revoked"})
    response = shop.verify()
    assert response.status == 200, response.body
    report = response.json()
    assert (report["status"], report["subscriptions"]) == ("needs_attention", [])
    (problem,) = report["problems"]
    assert "refused the admin_access_token" in problem and "HTTP 401" in problem and "docs/operations.md#connect-shopify" in problem
    assert "shpat_revoked" not in response.text
    assert shop.stand_in.webhooks_of(DOMAIN) == []


def test_a_secret_without_the_token_or_shop_says_how_to_get_them_without_calling_shopify(shop: Shop) -> None:
    """Given globex's Shopify section with only its client secret, when globex verifies, then needs_attention names the
    missing shop_domain and admin_access_token (a custom app with read_orders) and Shopify is not called."""
    report = shop.verify("globex").json()
    assert report["status"] == "needs_attention" and report["shop_domain"] == ""
    assert [p.split(":")[0] for p in report["problems"]] == [
        "The Shopify secret has no shop_domain",
        "The Shopify secret has no admin_access_token",
    ]
    assert "read_orders" in report["problems"][1]
    assert shop.stand_in.requests == []


def test_no_shopify_section_is_a_conflict(shop: Shop) -> None:
    """Given a tenant whose secret has no Shopify section, when it verifies, then 409 shopify_app_missing naming the field."""
    shop.set_shopify("acme", None)
    response = shop.verify()
    assert response.status == 409
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("shopify_app_missing", "shopify")


def test_an_outage_is_a_502_and_nothing_is_lost(shop: Shop) -> None:
    """Given Shopify failing (503), when the team verifies, then 502 upstream_unavailable; once it recovers, verify registers."""
    shop.stand_in.outage(503)
    failed = shop.verify()
    assert failed.status == 502 and failed.json()["error"]["code"] == "upstream_unavailable"
    shop.stand_in.recover()
    assert shop.verify().json()["status"] == "fixed"


def test_the_public_api_url_setting_names_the_webhook_address(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given PUBLIC_API_URL (a custom domain), when the team verifies, then the webhooks are registered under it."""
    monkeypatch.setenv("PUBLIC_API_URL", "https://orders.glowhouse.example/")
    reset_process_caches()
    report = shop.verify().json()
    assert report["webhook_url"] == "https://orders.glowhouse.example/v1/acme/webhooks/shopify"
    assert {h["address"] for h in shop.stand_in.webhooks_of(DOMAIN)} == {report["webhook_url"]}


def test_the_connections_list_shows_shopify(shop: Shop) -> None:
    """Given acme's shop and token in its secret, then GET /connections lists shopify connected with the shop's domain;
    without the token, not_connected; without a Shopify section, no shopify entry (TikTok Shop's stays)."""
    shopify = shop.connections()["shopify"]
    assert (shopify["status"], shopify["shop_name"], shopify["app_configured"]) == ("connected", DOMAIN, True)
    secret = json.loads(shop.tenants_file.read_text())["tenants"]["acme"]["shopify"]
    shop.set_shopify("acme", {**secret, "admin_access_token": ""})
    assert shop.connections()["shopify"]["status"] == "not_connected"
    shop.set_shopify("acme", None)
    assert set(shop.connections()) == {"tiktok_shop"}
