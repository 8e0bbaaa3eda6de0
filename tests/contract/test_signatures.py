"""Contract tests: every inbound signature scheme and the TikTok Shop API sign, against published or hand-built vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from ordertrail.core.errors import Unauthorized
from ordertrail.sources.signatures import (
    sign_ordertrail,
    sign_shopify_webhook,
    sign_tiktok_webhook,
    tiktok_api_sign,
    verify_ordertrail,
    verify_shopify_webhook,
    verify_tiktok_webhook,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "contract"
TIKTOK_VECTOR_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507","timestamp":1718305585,'
    b'"data":{"is_on_hold_order":true,"order_id":"576653688135258178","order_status":"UNPAID","update_time":1718305585}}'
)
TIKTOK_VECTOR_SIGNATURE = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"


# --- TikTok Shop webhook -------------------------------------------------------------------------------------


def test_published_tiktok_vector_is_accepted() -> None:
    """Given TikTok's published vector (app_key abcdef, secret 123), when verified, then it passes and our signer agrees."""
    assert sign_tiktok_webhook("abcdef", "123", TIKTOK_VECTOR_BODY) == TIKTOK_VECTOR_SIGNATURE
    verify_tiktok_webhook("abcdef", "123", TIKTOK_VECTOR_BODY, TIKTOK_VECTOR_SIGNATURE)


def test_notification_fixture_is_the_published_vector_body() -> None:
    """Given the fixture file, then its bytes are exactly the published body (so it carries the published signature)."""
    raw = (EVENTS / "tiktok_notification.json").read_bytes()
    assert raw == TIKTOK_VECTOR_BODY
    verify_tiktok_webhook("abcdef", "123", raw, TIKTOK_VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    ("body", "header", "code"),
    [
        (TIKTOK_VECTOR_BODY.replace(b"UNPAID", b"PAID__"), TIKTOK_VECTOR_SIGNATURE, "bad_signature"),
        (TIKTOK_VECTOR_BODY, None, "missing_signature"),
        (TIKTOK_VECTOR_BODY, "", "missing_signature"),
        (TIKTOK_VECTOR_BODY, "Bearer " + TIKTOK_VECTOR_SIGNATURE, "bad_signature"),
        (TIKTOK_VECTOR_BODY, TIKTOK_VECTOR_SIGNATURE[:-1] + "6", "bad_signature"),
    ],
    ids=["tampered-body", "missing", "empty", "bearer-prefix", "one-char-off"],
)
def test_tiktok_webhook_rejects_bad_or_missing_signature(body: bytes, header: str | None, code: str) -> None:
    """Given a tampered body or a wrong/missing Authorization header, when verified, then it is a 401 with a clear code."""
    with pytest.raises(Unauthorized) as caught:
        verify_tiktok_webhook("abcdef", "123", body, header)
    assert caught.value.status == 401
    assert caught.value.code == code


def test_tiktok_webhook_rejects_other_apps_secret() -> None:
    """Given a body signed with another app's secret, when verified with ours, then it is rejected."""
    with pytest.raises(Unauthorized):
        verify_tiktok_webhook("abcdef", "123", TIKTOK_VECTOR_BODY, sign_tiktok_webhook("abcdef", "456", TIKTOK_VECTOR_BODY))


# --- Shopify webhook -----------------------------------------------------------------------------------------


def test_shopify_signature_is_base64_of_hmac_sha256() -> None:
    """Given a raw body and client secret, then the header is base64 (not hex) HMAC-SHA256 and it verifies."""
    raw = (EVENTS / "shopify_order.json").read_bytes()
    expected = base64.b64encode(hmac.new(b"shpss_test_secret", raw, hashlib.sha256).digest()).decode()
    assert sign_shopify_webhook("shpss_test_secret", raw) == expected
    verify_shopify_webhook("shpss_test_secret", raw, expected)


@pytest.mark.parametrize("kind", ["hex-instead-of-base64", "tampered", "missing", "wrong-secret"])
def test_shopify_webhook_rejects_bad_signatures(kind: str) -> None:
    """Given a hex digest, a tampered body, no header or another secret, when verified, then it is a 401."""
    raw = b'{"id":1,"total_price":"10.00"}'
    header: str | None = sign_shopify_webhook("secret", raw)
    body = raw
    if kind == "hex-instead-of-base64":
        header = hmac.new(b"secret", raw, hashlib.sha256).hexdigest()
    elif kind == "tampered":
        body = raw.replace(b"10.00", b"1.00")
    elif kind == "missing":
        header = None
    else:
        header = sign_shopify_webhook("other", raw)
    with pytest.raises(Unauthorized):
        verify_shopify_webhook("secret", body, header)


# --- X-OrderTrail-Signature ----------------------------------------------------------------------------------

BODY = b'{"id":"tp-1","kind":"comment"}'
NOW = 1_718_305_585


def test_ordertrail_signature_format_and_round_trip() -> None:
    """Given a secret, body and time, then the header is t=<ts>,v1=<hex of HMAC("<t>." + body)> and it verifies."""
    expected = hmac.new(b"tp-secret", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    header = sign_ordertrail("tp-secret", BODY, NOW)
    assert header == f"t={NOW},v1={expected}"
    verify_ordertrail("tp-secret", BODY, header, now=NOW)


@pytest.mark.parametrize("skew", [-300, 300], ids=["300s-old", "300s-ahead"])
def test_ordertrail_accepts_signatures_at_the_tolerance_edge(skew: int) -> None:
    """Given a signature exactly 300 s old or ahead, when verified, then it is still accepted."""
    verify_ordertrail("tp-secret", BODY, sign_ordertrail("tp-secret", BODY, NOW + skew), now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, -86_400], ids=["too-old", "future", "a-day-old"])
def test_ordertrail_rejects_stale_or_future_signatures(skew: int) -> None:
    """Given a correctly signed body whose timestamp is outside ±300 s, when verified, then it is rejected as expired."""
    with pytest.raises(Unauthorized) as caught:
        verify_ordertrail("tp-secret", BODY, sign_ordertrail("tp-secret", BODY, NOW + skew), now=NOW)
    assert caught.value.code == "expired_signature"


def test_ordertrail_rejects_a_tampered_body() -> None:
    """Given a signed body changed in transit, when verified, then it is rejected."""
    header = sign_ordertrail("tp-secret", BODY, NOW)
    with pytest.raises(Unauthorized) as caught:
        verify_ordertrail("tp-secret", BODY.replace(b"comment", b"dm"), header, now=NOW)
    assert caught.value.code == "bad_signature"


def test_ordertrail_rejects_a_replayed_signature_with_a_new_timestamp() -> None:
    """Given a valid v1 re-sent with a fresher t, when verified, then it fails (t is part of the signed message)."""
    v1 = sign_ordertrail("tp-secret", BODY, NOW - 1000).split("v1=")[1]
    with pytest.raises(Unauthorized):
        verify_ordertrail("tp-secret", BODY, f"t={NOW},v1={v1}", now=NOW)


@pytest.mark.parametrize("header", [None, "", "v1=abc", f"t={NOW}", f"t=soon,v1={'0' * 64}", "garbage"])
def test_ordertrail_rejects_missing_or_malformed_headers(header: str | None) -> None:
    """Given no header or one without t and v1, when verified, then it is a 401."""
    with pytest.raises(Unauthorized) as caught:
        verify_ordertrail("tp-secret", BODY, header, now=NOW)
    assert caught.value.code in ("missing_signature", "malformed_signature")


def test_ordertrail_tolerates_several_v1_entries_during_secret_rotation() -> None:
    """Given a header with an old-secret v1 and a new-secret v1, when verified with the new secret, then it passes."""
    old = sign_ordertrail("old-secret", BODY, NOW).split("v1=")[1]
    new = sign_ordertrail("new-secret", BODY, NOW).split("v1=")[1]
    verify_ordertrail("new-secret", BODY, f"t={NOW}, v1={old}, v1={new}", now=NOW)
    with pytest.raises(Unauthorized):
        verify_ordertrail("third-secret", BODY, f"t={NOW},v1={old},v1={new}", now=NOW)


# --- TikTok Shop Open API sign -------------------------------------------------------------------------------


def test_api_sign_matches_a_hand_built_string() -> None:
    """Given query params out of order plus sign/access_token, then sign = HMAC over secret+path+sorted k/v+secret, excluding both."""
    query = {"timestamp": "1718305585", "shop_cipher": "ROW_abc", "ids": "1,2", "app_key": "6abc", "sign": "stale", "access_token": "tok"}
    message = b"s3cr3t" + b"/order/202309/orders" + b"app_key6abc" + b"ids1,2" + b"shop_cipherROW_abc" + b"timestamp1718305585" + b"s3cr3t"
    expected = hmac.new(b"s3cr3t", message, hashlib.sha256).hexdigest()
    assert tiktok_api_sign("s3cr3t", "/order/202309/orders", query) == expected


def test_api_sign_includes_the_raw_body() -> None:
    """Given a POST body, then it is signed between the params and the trailing secret."""
    body = b'{"page_size":50}'
    message = b"k/order/202309/orders/searchapp_keyatimestamp1" + body + b"k"
    expected = hmac.new(b"k", message, hashlib.sha256).hexdigest()
    assert tiktok_api_sign("k", "/order/202309/orders/search", {"app_key": "a", "timestamp": "1"}, body) == expected
    assert tiktok_api_sign("k", "/order/202309/orders/search", {"app_key": "a", "timestamp": "1"}) != expected
