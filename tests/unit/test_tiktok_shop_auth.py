"""TikTok Shop authorization, pure and against the stand-in on loopback: the page URL, the signed state, token get and
refresh with their error classes, the authorized shops, and the expired-token answer of the order detail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from ordertrail.core.errors import UpstreamError
from ordertrail.sources.tiktok_shop import TikTokShopApiError, TikTokShopClient, TikTokShopCredentials
from ordertrail.sources.tiktok_shop_auth import (
    AuthCodeRejected,
    InvalidState,
    RefreshTokenRejected,
    TikTokShopAuthClient,
    TikTokShopAuthError,
    authorization_url,
    mint_state,
    read_state,
    verify_state,
)
from ordertrail.storage import keys
from ordertrail_local.tiktok_shop_stand_in import ShopCredentials, TikTokShopStandIn

NOW = 1_800_000_000
APP = ShopCredentials("app-key", "app-secret", "", "", "service-1")


@pytest.fixture
def stand_in() -> Iterator[TikTokShopStandIn]:
    """The stand-in knowing one app (no static token: only what it issues works), with an injectable clock."""
    server = TikTokShopStandIn([APP], [{"id": "1001", "create_time": NOW - 60}]).start()
    server.redirect_uri = "https://ordertrail.test/v1/connections/tiktok-shop/callback"
    try:
        yield server
    finally:
        server.stop()


def auth_client(stand_in: TikTokShopStandIn) -> TikTokShopAuthClient:
    """The auth client pointed at the stand-in (its clock signs the shops request)."""
    return TikTokShopAuthClient(stand_in.url, stand_in.url, clock=stand_in.clock)


def a_code(stand_in: TikTokShopStandIn) -> str:
    """A code the stand-in issues when the seller consents."""
    return parse_qs(urlsplit(stand_in.consent({"service_id": "service-1", "state": "s"})).query)["code"][0]


# ---------------------------------------------------------------- the page and the state


def test_the_authorization_page_names_the_app_and_carries_the_state() -> None:
    """Given a service id and a state, then the page URL carries both, encoded, on the configured host."""
    url = authorization_url("https://services.tiktokshops.us/open/authorize", "7123", "a.b-c_d")
    assert url == "https://services.tiktokshops.us/open/authorize?service_id=7123&state=a.b-c_d"


def test_a_state_verifies_with_its_tenants_secret_until_it_expires() -> None:
    """Given a state minted for acme, then acme's app secret verifies it and yields the tenant and a random nonce;
    two states never share a nonce."""
    state = mint_state("acme", "app-secret", NOW, 600)
    payload = verify_state(state, "app-secret", NOW + 599)
    assert (payload.tenant, payload.expires_at) == ("acme", NOW + 600)
    assert read_state(state) == payload
    assert verify_state(mint_state("acme", "app-secret", NOW, 600), "app-secret", NOW).nonce != payload.nonce


@pytest.mark.parametrize(
    ("state", "secret", "at", "problem"),
    [
        (mint_state("acme", "app-secret", NOW, 600), "another-secret", NOW, "forged"),
        (mint_state("acme", "app-secret", NOW, 600), "app-secret", NOW + 600, "expired"),
        (
            mint_state("globex", "x", NOW, 600).split(".")[0] + "." + mint_state("acme", "app-secret", NOW, 600).split(".")[1],
            "app-secret",
            NOW,
            "forged",
        ),
        ("no-dot-here", "app-secret", NOW, "malformed"),
        ("!!!.???", "app-secret", NOW, "malformed"),
        ("e30.AAAA", "app-secret", NOW, "malformed"),  # `{}`: no tenant, no nonce
        ("", "app-secret", NOW, "malformed"),
        (None, "app-secret", NOW, "malformed"),
    ],
    ids=["other-secret", "expired", "swapped-payload", "no-dot", "not-base64", "empty-payload", "empty", "none"],
)
def test_a_forged_malformed_or_expired_state_is_refused_with_its_reason(state: str | None, secret: str, at: int, problem: str) -> None:
    """Given a state that is not what we minted, or is past its expiry, then it is refused and says which."""
    with pytest.raises(InvalidState) as refused:
        verify_state(state, secret, at)
    assert refused.value.problem == problem


# ---------------------------------------------------------------- tokens and shops, against the stand-in


def test_a_code_gives_tokens_once_and_a_refresh_rotates_the_refresh_token(stand_in: TikTokShopStandIn) -> None:
    """Given a seller's code, when it is exchanged, then tokens with Unix expiry times; when it is exchanged again,
    then AuthCodeRejected; when the refresh token is used, then new tokens, and the old refresh token is refused."""
    client, code = auth_client(stand_in), a_code(stand_in)
    grant = client.get_token("app-key", "app-secret", code)
    assert grant.access_token_expire_in > time.time() and grant.refresh_token_expire_in > grant.access_token_expire_in
    with pytest.raises(AuthCodeRejected):
        client.get_token("app-key", "app-secret", code)
    rotated = client.refresh("app-key", "app-secret", grant.refresh_token.get_secret_value())
    assert rotated.refresh_token.get_secret_value() != grant.refresh_token.get_secret_value()
    with pytest.raises(RefreshTokenRejected) as refused:
        client.refresh("app-key", "app-secret", grant.refresh_token.get_secret_value())
    assert refused.value.code == 36004005
    # The tokens never show when a grant or an error is printed.
    for text in (repr(grant), str(grant), str(refused.value)):
        assert grant.access_token.get_secret_value() not in text and grant.refresh_token.get_secret_value() not in text


def test_an_outage_is_an_upstream_failure_not_a_refused_token(stand_in: TikTokShopStandIn) -> None:
    """Given TikTok down, when a refresh is tried, then a retryable TikTokShopAuthError (not RefreshTokenRejected)."""
    grant = auth_client(stand_in).get_token("app-key", "app-secret", a_code(stand_in))
    stand_in.outage(status=503)
    with pytest.raises(TikTokShopAuthError) as failed:
        auth_client(stand_in).refresh("app-key", "app-secret", grant.refresh_token.get_secret_value())
    assert not isinstance(failed.value, RefreshTokenRejected) and isinstance(failed.value, UpstreamError)
    stand_in.recover()
    assert auth_client(stand_in).refresh("app-key", "app-secret", grant.refresh_token.get_secret_value())


def test_unreachable_auth_host_is_upstream_and_names_no_secret() -> None:
    """Given nothing listening, then TikTokShopAuthError whose message holds neither the secret nor the token."""
    client = TikTokShopAuthClient("http://127.0.0.1:9", "http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(TikTokShopAuthError) as failed:
        client.refresh("app-key", "app-secret", "refresh-secret-value")
    assert "app-secret" not in str(failed.value) and "refresh-secret-value" not in str(failed.value)
    assert failed.value.__cause__ is None


def test_the_authorized_shops_give_the_cipher(stand_in: TikTokShopStandIn) -> None:
    """Given an issued access token, then the signed shops request names the shop with its cipher; a wrong token is refused."""
    client = auth_client(stand_in)
    grant = client.get_token("app-key", "app-secret", a_code(stand_in))
    (shop,) = client.authorized_shops("app-key", "app-secret", grant.access_token.get_secret_value())
    assert shop.cipher == stand_in.shop_of("app-key")["cipher"] and shop.id and shop.region == "US"
    with pytest.raises(TikTokShopAuthError):
        client.authorized_shops("app-key", "app-secret", "not-a-token")


def test_the_order_detail_answers_an_expired_token_with_105002_and_the_client_says_token_rejected(stand_in: TikTokShopStandIn) -> None:
    """Given an access token past its expiry on the stand-in's clock, when orders are fetched, then TikTok's 105002,
    which the client's error reports as token_rejected; a refreshed token fetches the order."""
    client = auth_client(stand_in)
    grant = client.get_token("app-key", "app-secret", a_code(stand_in))
    cipher = stand_in.shop_of("app-key")["cipher"]
    stand_in.clock = lambda: grant.access_token_expire_in + 1.0

    def fetch(token: str) -> list[dict[str, object]]:
        creds = TikTokShopCredentials(app_key="app-key", app_secret="app-secret", access_token=token, shop_cipher=cipher)
        return TikTokShopClient(stand_in.url, creds, clock=stand_in.clock).fetch_orders(["1001"])

    with pytest.raises(TikTokShopApiError) as refused:
        fetch(grant.access_token.get_secret_value())
    assert refused.value.code == 105002 and refused.value.token_rejected
    fresh = client.refresh("app-key", "app-secret", grant.refresh_token.get_secret_value())
    assert [order["id"] for order in fetch(fresh.access_token.get_secret_value())] == ["1001"]


@pytest.mark.parametrize(("code", "rejected"), [(105002, True), (105001, True), (106002, False), ("HTTP 503", False), (True, False)])
def test_only_the_access_token_codes_count_as_a_rejected_token(code: int | str, rejected: bool) -> None:
    """Given TikTok's error code, then token_rejected holds for the expired/invalid access-token codes only."""
    assert TikTokShopApiError(code, "m").token_rejected is rejected


def test_connection_keys_share_the_tenants_partition_and_the_due_index_sorts_by_expiry() -> None:
    """Given two connections, then the due index orders them by access token expiry and the bound takes exactly those due."""
    assert keys.connection_key("acme", "tiktok_shop") == {"PK": "T#acme#CONNECTIONS", "SK": "STORE#tiktok_shop"}
    assert keys.connection_lease_key("acme", "tiktok_shop") == {"PK": "T#acme#CONNECTIONS", "SK": "LEASE#tiktok_shop"}
    soon, later = keys.connection_due_gsi("zeta", "tiktok_shop", 999), keys.connection_due_gsi("acme", "tiktok_shop", 1000)
    assert soon["GSI1PK"] == later["GSI1PK"] == "CONNECTIONS#DUE#tiktok_shop"
    assert (
        soon["GSI1SK"] < later["GSI1SK"] <= keys.connections_due_until(1000) < keys.connection_due_gsi("a", "tiktok_shop", 1001)["GSI1SK"]
    )
    assert keys.oauth_nonce_key("acme", "n1") == {"PK": "T#acme#OAUTH#NONCE#n1", "SK": "NONCE"}
