"""Signature checks and signers for every inbound caller (TikTok Shop, Shopify, OrderTrail senders) and the TikTok Shop API sign."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ordertrail.core.errors import Unauthorized


def _hmac_sha256(key: str, message: bytes) -> bytes:
    """Raw HMAC-SHA256 digest of message under a UTF-8 key."""
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()


def _equal(expected: str, given: str) -> bool:
    """Compare two signature strings in constant time."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def sign_tiktok_webhook(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """Compute the TikTok Shop webhook `Authorization` value: hex HMAC-SHA256(app_secret, app_key + body)."""
    return _hmac_sha256(app_secret, app_key.encode("utf-8") + raw_body).hex()


def verify_tiktok_webhook(app_key: str, app_secret: str, raw_body: bytes, authorization: str | None) -> None:
    """Raise Unauthorized unless `authorization` is the TikTok Shop signature of raw_body."""
    if not authorization or not authorization.strip():
        raise Unauthorized("The Authorization header is missing.", code="missing_signature")
    if not _equal(sign_tiktok_webhook(app_key, app_secret, raw_body), authorization.strip().lower()):
        raise Unauthorized("The TikTok Shop signature does not match the body.", code="bad_signature")


def sign_shopify_webhook(secret: str, raw_body: bytes) -> str:
    """Compute the Shopify `X-Shopify-Hmac-Sha256` value: base64 HMAC-SHA256(client secret, body)."""
    return base64.b64encode(_hmac_sha256(secret, raw_body)).decode("ascii")


def verify_shopify_webhook(client_secret: str, raw_body: bytes, hmac_header: str | None) -> None:
    """Raise Unauthorized unless `hmac_header` is the Shopify signature of raw_body."""
    if not hmac_header or not hmac_header.strip():
        raise Unauthorized("The X-Shopify-Hmac-Sha256 header is missing.", code="missing_signature")
    if not _equal(sign_shopify_webhook(client_secret, raw_body), hmac_header.strip()):
        raise Unauthorized("The Shopify signature does not match the body.", code="bad_signature")


def _ordertrail_digest(secret: str, raw_body: bytes, timestamp: int) -> str:
    """Hex HMAC-SHA256(secret, "<t>." + body) used by X-OrderTrail-Signature."""
    return _hmac_sha256(secret, f"{timestamp}.".encode("ascii") + raw_body).hex()


def sign_ordertrail(secret: str, raw_body: bytes, timestamp: int) -> str:
    """Build an `X-OrderTrail-Signature` value "t=<ts>,v1=<hex>" for raw_body at timestamp."""
    return f"t={timestamp},v1={_ordertrail_digest(secret, raw_body, timestamp)}"


def _parse_ordertrail_header(header: str) -> tuple[int, list[str]]:
    """Split "t=..,v1=..[,v1=..]" into the timestamp and the v1 signatures; raise Unauthorized when malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value.strip())
            except ValueError:
                raise Unauthorized("The signature timestamp is not an integer.", code="malformed_signature") from None
        elif key == "v1" and value.strip():
            signatures.append(value.strip().lower())
    if timestamp is None or not signatures:
        raise Unauthorized("The X-OrderTrail-Signature header needs t=<unix seconds> and v1=<hex>.", code="malformed_signature")
    return timestamp, signatures


def verify_ordertrail(secret: str, raw_body: bytes, header: str | None, now: int, tolerance_seconds: int = 300) -> None:
    """Raise Unauthorized unless one v1 entry signs raw_body and t is within tolerance of now (past or future)."""
    if not header or not header.strip():
        raise Unauthorized("The X-OrderTrail-Signature header is missing.", code="missing_signature")
    timestamp, signatures = _parse_ordertrail_header(header)
    if now - timestamp > tolerance_seconds:
        raise Unauthorized(f"The signature is older than {tolerance_seconds} seconds.", code="expired_signature")
    if timestamp - now > tolerance_seconds:
        raise Unauthorized(f"The signature is more than {tolerance_seconds} seconds in the future.", code="expired_signature")
    expected = _ordertrail_digest(secret, raw_body, timestamp)
    matched = False
    for candidate in signatures:  # check every entry so timing does not reveal which one matched
        matched = _equal(expected, candidate) or matched
    if not matched:
        raise Unauthorized("The signature does not match the body.", code="bad_signature")


def tiktok_api_sign(app_secret: str, path: str, query: dict[str, str], body: bytes = b"") -> str:
    """Compute the TikTok Shop Open API `sign` query parameter for a request (sign/access_token excluded)."""
    params = "".join(f"{key}{query[key]}" for key in sorted(query) if key not in ("sign", "access_token"))
    message = app_secret.encode("utf-8") + path.encode("utf-8") + params.encode("utf-8") + body + app_secret.encode("utf-8")
    return _hmac_sha256(app_secret, message).hex()
