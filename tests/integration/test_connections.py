"""Connecting a TikTok Shop through OAuth and keeping its tokens fresh, through the template's HTTP API on moto, with the
TikTok Shop stand-in on loopback playing the seller's authorization page, the token endpoints and the Open API."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ordertrail.connections import tokens
from ordertrail.connections.connector import Connector, connector_from
from ordertrail.core.environment import get_environment
from ordertrail.runtime import observability, services
from ordertrail.sources.tiktok_shop import TikTokShopApiError, TikTokShopClient, TikTokShopCredentials
from ordertrail.sources.tiktok_shop_auth import mint_state
from ordertrail.storage.tenant_secrets import FileTenantDirectory
from ordertrail_local.lambda_runtime import LambdaRuntime
from ordertrail_local.loopback import HttpResponse
from ordertrail_local.stack import reset_process_caches
from ordertrail_local.template import repo_root
from ordertrail_local.tiktok_shop_stand_in import ORDERS_PATH, IssuedToken, TikTokShopStandIn, credentials_from_tenants
from tests.conftest import Pipeline
from tests.integration.senders import notification, send_shopify_webhook, send_tiktok_webhook, shopify_order, tiktok_order

CALLBACK = "/v1/connections/tiktok-shop/callback"
KEY = {"Authorization": "Bearer acme-team-key"}
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
ORDER = {"id": "576600000000000001", "status": "AWAITING_SHIPMENT", "create_time": 1764000000, "update_time": 1764000100}


@dataclass
class Shop:
    """The pipeline with acme's TikTok Shop app configured, and the stand-in TikTok Shop it connects to."""

    api: Pipeline
    stand_in: TikTokShopStandIn
    tenants_file: Path
    responses: list[HttpResponse]
    old: set[str]  # tokens rotated out of the stand-in's books

    def secret(self, tenant: str = "acme") -> dict[str, Any]:
        """The tenant's TikTok Shop secret as stored (the tenants file is the local secret store)."""
        return dict(json.loads(self.tenants_file.read_text())["tenants"][tenant]["tiktok_shop"])

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, query: str = "") -> HttpResponse:
        """One request through the HTTP API, kept so the test can check no response ever carried a token."""
        response = self.api.call(method, path, headers=headers, query=query)
        self.responses.append(response)
        return response

    def authorize(self) -> HttpResponse:
        """GET .../authorize with acme's key."""
        return self.call("GET", "/v1/acme/connections/tiktok-shop/authorize", KEY)

    def consent(self, location: str) -> dict[str, str]:
        """The seller consents on TikTok's page: the code and state TikTok sends back to the callback."""
        answer = requests.get(location, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["location"])
        assert back.path == CALLBACK
        return {name: values[0] for name, values in parse_qs(back.query).items()}

    def callback(self, params: dict[str, str]) -> HttpResponse:
        """TikTok's redirect arriving at the callback (no key)."""
        query = "&".join(f"{name}={requests.utils.quote(value, safe='')}" for name, value in params.items())
        return self.call("GET", CALLBACK, query=query)

    def connect(self) -> HttpResponse:
        """Authorize, consent, and complete the callback."""
        started = self.authorize()
        assert started.status == 302, started.body
        done = self.callback(self.consent(started.headers["location"]))
        assert done.status == 200, done.body
        return done

    def connection(self) -> dict[str, Any]:
        """acme's TikTok Shop connection as GET /connections shows it."""
        response = self.call("GET", "/v1/acme/connections", KEY)
        assert response.status == 200, response.body
        (connection,) = [view for view in response.json()["connections"] if view["store"] == "tiktok_shop"]
        return dict(connection)

    def connector(self) -> Connector:
        """The connection features as the functions build them (same repository, directory and settings)."""
        return connector_from(get_environment(), services.repository(), services.tenants())

    def run_refresh_schedule(self) -> dict[str, Any]:
        """The EventBridge schedule delivered to RefreshTokensFunction's real handler."""
        result: dict[str, Any] = LambdaRuntime(repo_root()).invoke("RefreshTokensFunction", "functions/refresh_tokens", SCHEDULED)
        return result

    def tokens_issued(self) -> set[str]:
        """Every token the stand-in ever issued (access and refresh)."""
        return set(self.stand_in.access_tokens) | set(self.stand_in.refresh_tokens) | self.old


@pytest.fixture
def shop(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """acme's secret names its app's service id (globex's does not); the API, auth host and authorization page are the stand-in."""
    tenants_file = Path(os.environ["ORDERTRAIL_TENANTS_FILE"])
    FileTenantDirectory(tenants_file).update(
        "acme", lambda config: {**config, "tiktok_shop": {**config["tiktok_shop"], "service_id": "acme-service"}}
    )
    stand_in = TikTokShopStandIn(credentials_from_tenants(json.loads(tenants_file.read_text())), [ORDER]).start()
    stand_in.redirect_uri = f"https://ordertrail.test{CALLBACK}"
    monkeypatch.setenv("TIKTOK_SHOP_API_URL", stand_in.url)
    monkeypatch.setenv("TIKTOK_SHOP_AUTH_URL", stand_in.url)
    monkeypatch.setenv("TIKTOK_SHOP_AUTHORIZE_URL", stand_in.url + "/open/authorize")
    # These tests are about the tokens: the history import a connection starts is tests/integration/test_history_import.py's.
    monkeypatch.setenv("IMPORT_ON_CONNECT_DAYS", "0")
    reset_process_caches()
    old: set[str] = set()
    # Rotated-out tokens are gone from the stand-in's books: remember them too, so no old token may appear anywhere.
    original = stand_in._token

    def remembering(*args: Any) -> Any:
        old.update(stand_in.access_tokens, stand_in.refresh_tokens)
        status, body = original(*args)
        if body.get("code") == 0:
            old.update({body["data"]["access_token"], body["data"]["refresh_token"]})
        return status, body

    monkeypatch.setattr(stand_in, "_token", remembering)
    try:
        yield Shop(pipeline, stand_in, tenants_file, [], old)
    finally:
        stand_in.stop()
        reset_process_caches()


def assert_no_token_in(shop: Shop, *texts: str) -> None:
    """No token the stand-in issued appears in any response the API gave, nor in the texts given (logs)."""
    issued = shop.tokens_issued()
    assert issued, "the test issued no token at all"
    seen = [r.text + json.dumps(r.headers) for r in shop.responses] + list(texts)
    leaked = sorted(token for token in issued for text in seen if token in text)
    assert leaked == []


def test_authorize_redirects_with_a_state_the_callback_accepts_once(shop: Shop) -> None:
    """Given acme's app, when the team opens authorize, then 302 to TikTok's page naming the app's service id with a state;
    when the seller consents, then the callback stores the tokens and the shop's cipher in the secret and GET /connections
    shows connected with the expiry; when the same callback arrives again, then 400 naming state and nothing changes."""
    started = shop.authorize()
    assert started.status == 302
    page = urlsplit(started.headers["location"])
    assert page.path == "/open/authorize"
    assert parse_qs(page.query)["service_id"] == ["acme-service"] and parse_qs(page.query)["state"]
    params = shop.consent(started.headers["location"])
    done = shop.callback(params)
    assert done.status == 200 and "TikTok Shop connected" in done.text and done.headers["content-type"].startswith("text/html")
    secret = shop.secret()
    assert secret["access_token"] in shop.stand_in.access_tokens and secret["refresh_token"] in shop.stand_in.refresh_tokens
    assert secret["shop_cipher"] == shop.stand_in.shop_of("acme-app-key")["cipher"] == "acme-cipher"
    assert secret["shop_id"] == shop.stand_in.shop_of("acme-app-key")["id"]
    assert (secret["app_key"], secret["app_secret"], secret["service_id"]) == ("acme-app-key", "acme-app-secret", "acme-service")
    connection = shop.connection()
    assert connection["status"] == "connected" and connection["shop_id"] == secret["shop_id"]
    expected_expiry = datetime.fromtimestamp(secret["access_token_expires_at"], UTC)
    assert datetime.fromisoformat(connection["access_token_expires_at"].replace("Z", "+00:00")) == expected_expiry
    assert "last_error" not in connection

    again = shop.callback(params)
    assert again.status == 400 and again.json()["error"]["field"] == "state" and again.json()["error"]["code"] == "reused_state"
    assert shop.secret() == secret
    assert_no_token_in(shop)


def _states(now: float) -> dict[str, str | None]:
    """States the callback must refuse: signed with another secret, expired, tampered with, not ours, missing."""
    good = mint_state("acme", "acme-app-secret", now, 600)
    mac = good.partition(".")[2]
    return {
        "forged": mint_state("acme", "not-acme-app-secret", now, 600),
        "expired": mint_state("acme", "acme-app-secret", now - 3600, 600),
        "tampered": mint_state("globex", "acme-app-secret", now, 600).partition(".")[0] + "." + mac,
        "malformed": "not-a-state",
        "missing": None,
    }


@pytest.mark.parametrize("kind", ["forged", "expired", "tampered", "malformed", "missing"])
def test_a_forged_expired_or_missing_state_is_refused_and_changes_nothing(shop: Shop, kind: str) -> None:
    """Given a state that is forged, expired, tampered with, not ours or missing, when the callback receives it with a
    real code, then 400 naming `state`, no token is asked for, and neither the secret nor the table changes."""
    before_secret, before_items = shop.secret(), shop.api.items()
    state = _states(time.time())[kind]
    code = shop.stand_in.consent({"service_id": "acme-service", "redirect_uri": "https://x.test/cb", "state": ""})
    params = {"code": parse_qs(urlsplit(code).query)["code"][0], **({"state": state} if state is not None else {})}
    refused = shop.callback(params)
    assert refused.status == 400, refused.body
    assert refused.json()["error"]["field"] == "state"
    assert refused.json()["error"]["code"] == {"tampered": "forged_state"}.get(kind, f"{kind}_state")
    assert [r for r in shop.stand_in.requests if r["path"].startswith("/api/v2/token")] == []
    assert shop.secret() == before_secret and shop.api.items() == before_items


def test_a_callback_without_a_code_names_code(shop: Shop) -> None:
    """Given a valid state but no code (the seller declined), then 400 naming `code`."""
    started = shop.authorize()
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    refused = shop.callback({"state": state})
    assert refused.status == 400 and refused.json()["error"]["field"] == "code"


def test_authorize_needs_an_app_and_accepts_a_dashboard_link(shop: Shop) -> None:
    """Given globex has no service id, when its team opens authorize, then 409 naming what is missing; given acme's
    signed dashboard link (a browser cannot send the key), when it opens authorize, then the redirect."""
    missing = shop.call("GET", "/v1/globex/connections/tiktok-shop/authorize", {"Authorization": "Bearer globex-team-key"})
    assert missing.status == 409 and missing.json()["error"]["code"] == "tiktok_shop_app_missing"
    assert "service_id" in missing.json()["error"]["message"]
    link = shop.call("POST", "/v1/acme/dashboard/links", {**KEY, "Content-Type": "application/json"}).json()["path"].split("link=")[1]
    by_link = shop.call("GET", "/v1/acme/connections/tiktok-shop/authorize", query=f"link={link}")
    assert by_link.status == 302 and "service_id=acme-service" in by_link.headers["location"]
    assert shop.call("GET", "/v1/acme/connections/tiktok-shop/authorize").status == 401


def test_the_schedule_refreshes_near_expiry_and_two_refreshers_rotate_once(shop: Shop) -> None:
    """Given acme connected with an access token that expires within 48 hours, when two refreshers run at once, then
    TikTok is asked once, the rotated refresh token is stored once and the old one no longer works; when the schedule
    runs next, then nothing is due any more."""
    shop.stand_in.access_token_seconds = 3600
    shop.connect()
    first = shop.secret()
    connector, now = shop.connector(), datetime.now(UTC)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def refresher() -> None:
        barrier.wait()
        outcomes.append(tokens.refresh(connector, "acme", now).outcome)

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) in (["busy", "refreshed"], ["fresh", "refreshed"])
    assert shop.stand_in.refreshes == 1
    second = shop.secret()
    assert second["refresh_token"] != first["refresh_token"] and second["refresh_token"] in shop.stand_in.refresh_tokens
    assert first["refresh_token"] not in shop.stand_in.refresh_tokens
    assert shop.connection()["status"] == "connected"

    # A refresh token issued for an hour-long access token is due again: the schedule rotates it once more.
    assert shop.run_refresh_schedule() == {"due": 1, "refreshed": 1}
    shop.stand_in.access_token_seconds = 7 * 86_400
    assert shop.run_refresh_schedule() == {"due": 1, "refreshed": 1}
    assert shop.run_refresh_schedule() == {"due": 0}
    assert shop.stand_in.refreshes == 3
    assert_no_token_in(shop)


def test_a_refused_refresh_token_needs_reauthorization_until_the_seller_authorizes_again(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given acme connected, when TikTok no longer accepts the refresh token, then the schedule marks the connection
    needs_reauthorization with the reason and counts the metric; when the seller authorizes again, then it is connected."""
    counted: list[str] = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda name, unit, value: counted.append(name))
    shop.stand_in.access_token_seconds = 3600
    shop.connect()
    shop.stand_in.revoke_refresh_tokens()
    assert shop.run_refresh_schedule() == {"due": 1, "needs_reauthorization": 1}
    connection = shop.connection()
    assert connection["status"] == "needs_reauthorization" and "refused the refresh token" in connection["last_error"]
    assert counted == [tokens.NEEDS_REAUTHORIZATION_METRIC]
    assert shop.run_refresh_schedule() == {"due": 0}, "a connection that needs the seller is not retried"

    shop.connect()
    again = shop.connection()
    assert again["status"] == "connected" and "last_error" not in again
    assert_no_token_in(shop)


def test_an_outage_leaves_the_connection_connected_and_the_next_run_refreshes(shop: Shop) -> None:
    """Given acme connected and due, when TikTok is down, then the run counts a failure and the connection stays
    connected with the error; when TikTok is back, then the next run refreshes."""
    shop.stand_in.access_token_seconds = 3600
    shop.connect()
    shop.stand_in.outage(status=503)
    assert shop.run_refresh_schedule() == {"due": 1, "failed": 1}
    connection = shop.connection()
    assert connection["status"] == "connected" and "503" in connection["last_error"]
    shop.stand_in.recover()
    assert shop.run_refresh_schedule() == {"due": 1, "refreshed": 1}
    assert "last_error" not in shop.connection()


def test_an_order_fetch_with_an_expired_token_refreshes_once_and_succeeds(shop: Shop) -> None:
    """Given acme connected and its access token expired, when an order fetch is refused with TikTok's expired-token
    code, then refresh_after_rejection returns fresh secrets once, and the fetch with them succeeds."""
    shop.connect()
    secret, later = shop.secret(), 8 * 86_400
    shop.stand_in.clock = lambda: time.time() + later

    def fetch(access_token: str) -> list[dict[str, Any]]:
        creds = TikTokShopCredentials(
            app_key="acme-app-key", app_secret="acme-app-secret", access_token=access_token, shop_cipher=secret["shop_cipher"]
        )
        return TikTokShopClient(shop.stand_in.url, creds, clock=shop.stand_in.clock).fetch_orders([ORDER["id"]])

    with pytest.raises(TikTokShopApiError) as refused:
        fetch(secret["access_token"])
    assert refused.value.token_rejected
    fresh = tokens.refresh_after_rejection(shop.connector(), "acme", datetime.now(UTC) + timedelta(seconds=later), secret["access_token"])
    assert fresh is not None and fresh.access_token != secret["access_token"]
    assert [order["id"] for order in fetch(fresh.access_token)] == [ORDER["id"]]
    # A second fetch that still held the old token finds the secret rotated already: no second refresh.
    again = tokens.refresh_after_rejection(shop.connector(), "acme", datetime.now(UTC) + timedelta(seconds=later), secret["access_token"])
    assert again is not None and again.access_token == fresh.access_token
    assert shop.stand_in.refreshes == 1


def test_disconnect_removes_the_tokens_keeps_the_data_and_reconnecting_resumes(shop: Shop) -> None:
    """Given acme connected, when the team disconnects, then the secret holds no token but keeps the app's credentials,
    nothing else in the table changes and GET /connections shows disconnected; when the seller authorizes again, then
    the connection is back."""
    shop.connect()
    kept = [item for item in shop.api.items() if not item["PK"].endswith("#CONNECTIONS")]
    gone = shop.call("DELETE", "/v1/acme/connections/tiktok-shop", KEY)
    assert gone.status == 200 and gone.json()["status"] == "disconnected"
    secret = shop.secret()
    assert (secret["access_token"], secret["refresh_token"]) == ("", "")
    assert (secret["app_key"], secret["app_secret"], secret["service_id"]) == ("acme-app-key", "acme-app-secret", "acme-service")
    assert [item for item in shop.api.items() if not item["PK"].endswith("#CONNECTIONS")] == kept
    assert shop.connection()["status"] == "disconnected"
    assert shop.run_refresh_schedule() == {"due": 0}

    shop.connect()
    assert shop.connection()["status"] == "connected" and shop.secret()["access_token"]
    assert_no_token_in(shop)


def test_no_token_reaches_a_log_line(shop: Shop, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """Given every path (connect, refresh, a refused refresh token, disconnect) with the logger at INFO, then no token
    appears in any captured log line or printed output, nor in any response."""
    caplog.set_level(logging.INFO)
    level = observability.logger.log_level
    observability.logger.setLevel("INFO")
    try:
        shop.stand_in.access_token_seconds = 3600
        shop.connect()
        shop.run_refresh_schedule()
        shop.stand_in.revoke_refresh_tokens()
        shop.run_refresh_schedule()
        shop.connect()
        shop.call("DELETE", "/v1/acme/connections/tiktok-shop", KEY)
    finally:
        observability.logger.setLevel(level)
    captured = capsys.readouterr()
    assert "token refresh run" in captured.out + caplog.text
    assert_no_token_in(shop, caplog.text, captured.out, captured.err)


# ------------------------------------------------------------------------------------- tokens and order hints
def expire_access_tokens(shop: Shop) -> None:
    """Every access token the stand-in issued is past its expiry (TikTok answers the order detail with 105002)."""
    with shop.stand_in._lock:
        for token, issued in list(shop.stand_in.access_tokens.items()):
            shop.stand_in.access_tokens[token] = IssuedToken(issued.app_key, expires_at=0)


def notify(shop: Shop, order_id: str, note: str) -> HttpResponse:
    """TikTok Shop's signed notification that an order changed."""
    response = send_tiktok_webhook(shop.api, "acme", notification(order_id, note))
    shop.responses.append(response)
    return response


def order_fetches(shop: Shop, order_id: str) -> int:
    """How often the stand-in was asked for this order's detail."""
    return sum(1 for r in shop.stand_in.requests if r["path"] == ORDERS_PATH and order_id in str(r["query"].get("ids", "")))


def test_a_notification_with_an_expired_access_token_refreshes_once_and_stores_the_order(shop: Shop) -> None:
    """Given acme connected and its access token expired, when TikTok notifies an order, then it is answered 200 at once,
    the fetch is refused as expired, the token is refreshed once and the fetch retried: the order is stored, no hint is
    left, and GET /connections shows nothing pending."""
    shop.connect()
    at = datetime.now(UTC) - timedelta(minutes=5)
    shop.stand_in.put_orders([tiktok_order("576600000000000101", "u1", at, at)])
    expire_access_tokens(shop)

    answer = notify(shop, "576600000000000101", "n-expired")

    assert (answer.status, answer.json()) == (200, {"received": True, "queued": "576600000000000101"})
    assert shop.stand_in.refreshes == 1
    assert order_fetches(shop, "576600000000000101") == 2
    assert shop.call("GET", "/v1/acme/orders/576600000000000101", KEY).status == 200
    assert not [item for item in shop.api.items() if item.get("type") == "hint"]
    assert shop.connection()["pending_orders"] == 0
    assert_no_token_in(shop)


def test_an_expired_refresh_token_keeps_every_hint_and_reauthorizing_fetches_each_pending_order_once(shop: Shop) -> None:
    """Given acme connected, its access token expired and its refresh token revoked, when three orders are notified, then
    each is answered 200, the connection needs reauthorization and shows three pending orders, and nothing is lost; when
    the seller authorizes again, then every pending order is fetched and stored, each once, and none is left pending."""
    shop.connect()
    at = datetime.now(UTC) - timedelta(minutes=5)
    ids = [f"57660000000000020{n}" for n in range(3)]
    shop.stand_in.put_orders([tiktok_order(order_id, f"u{n}", at, at) for n, order_id in enumerate(ids)])
    expire_access_tokens(shop)
    shop.stand_in.revoke_refresh_tokens()

    assert [notify(shop, order_id, f"n-{order_id}").status for order_id in ids] == [200, 200, 200]

    connection = shop.connection()
    assert (connection["status"], connection["pending_orders"]) == ("needs_reauthorization", 3)
    assert connection["pending_error"] and "105002" in connection["pending_error"]
    assert not [item for item in shop.api.items() if item.get("type") == "order"]

    before = {order_id: order_fetches(shop, order_id) for order_id in ids}
    shop.connect()

    assert {order_id: order_fetches(shop, order_id) - before[order_id] for order_id in ids} == dict.fromkeys(ids, 1)
    for order_id in ids:
        assert shop.call("GET", f"/v1/acme/orders/{order_id}", KEY).status == 200
    orders = [item for item in shop.api.items() if item.get("type") == "order"]
    assert len(orders) == 3
    after = shop.connection()
    assert (after["status"], after["pending_orders"]) == ("connected", 0)
    assert_no_token_in(shop)


def test_a_tiktok_shop_outage_loses_no_order_and_the_retry_stores_it_once(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given acme connected and TikTok Shop's API down, when an order is notified, then it is answered 200 and waits as a
    pending order; when the API is back and the retry schedule runs after the back-off, then it is stored, once."""
    shop.connect()
    at = datetime.now(UTC) - timedelta(minutes=5)
    shop.stand_in.put_orders([tiktok_order("576600000000000301", "u1", at, at)])
    shop.stand_in.outage(status=503)
    assert notify(shop, "576600000000000301", "n-outage").status == 200
    assert shop.connection()["pending_orders"] == 1

    shop.stand_in.recover()
    monkeypatch.setattr("ordertrail.runtime.services.now", lambda: datetime.now(UTC) + timedelta(minutes=2))
    shop.api.run_schedule("RetryOrderHintsFunction")

    assert shop.call("GET", "/v1/acme/orders/576600000000000301", KEY).status == 200
    assert shop.connection()["pending_orders"] == 0
    assert len([item for item in shop.api.items() if item.get("type") == "order"]) == 1


def test_connections_show_when_each_store_last_sent_an_order(pipeline: Pipeline) -> None:
    """Given no order yet, then no store shows a last order; when TikTok Shop notifies an order and Shopify sends one, then
    each store's connection shows when (within the last minute), and a second notification soon after writes nothing."""

    def received() -> dict[str, str | None]:
        response = pipeline.call("GET", "/v1/acme/connections", headers=KEY)
        assert response.status == 200, response.body
        return {c["store"]: c.get("last_order_received_at") for c in response.json()["connections"]}

    assert received() == {"tiktok_shop": None, "shopify": None}
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert send_tiktok_webhook(pipeline, "acme", notification(ORDER["id"], "n-activity-1")).status == 200
    assert send_shopify_webhook(pipeline, "acme", shopify_order(9_200_001, datetime.now(UTC))).status == 200

    seen = received()
    assert all(at is not None and before <= datetime.fromisoformat(at) <= datetime.now(UTC) for at in seen.values()), seen
    activity = [item for item in pipeline.items() if item.get("type") == "order_activity"]
    assert len(activity) == 2
    assert send_tiktok_webhook(pipeline, "acme", notification(ORDER["id"], "n-activity-2")).status == 200
    assert [item for item in pipeline.items() if item.get("type") == "order_activity"] == activity
