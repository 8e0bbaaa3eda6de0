"""TikTok Shop authorization: the seller's authorization page, a signed expiring `state`, token get/refresh and the authorized shops.

What TikTok Shop's endpoints take and answer is recorded in docs/decisions/2026-12-02-tiktok-shop-oauth.md. Tokens are
`SecretStr` here, so a model printed or logged never shows them, and no error message carries one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ordertrail.core.errors import UpstreamError
from ordertrail.sources.signatures import tiktok_api_sign

if TYPE_CHECKING:
    import requests

TOKEN_GET_PATH = "/api/v2/token/get"
TOKEN_REFRESH_PATH = "/api/v2/token/refresh"
AUTHORIZED_SHOPS_PATH = "/authorization/202309/shops"
# Seen from TikTok's token endpoints (docs/decisions/2026-12-02-tiktok-shop-oauth.md): an unknown or used-up refresh
# token, and an invalid authorization code. The refresh set is a setting (TIKTOK_SHOP_REFRESH_REJECTED_CODES).
REFRESH_REJECTED_CODES = frozenset({36004005})
AUTH_CODE_REJECTED_CODES = frozenset({36004004})
STATE_VERSION = "1"
NONCE_BYTES = 16

StateProblem = Literal["malformed", "forged", "expired"]


# -- the authorization page ----------------------------------------------------------------------------------


def authorization_url(page_url: str, service_id: str, state: str) -> str:
    """The seller's authorization page for the app `service_id`; TikTok sends the seller back to the app's redirect URL."""
    separator = "&" if "?" in page_url else "?"
    return f"{page_url}{separator}{urlencode({'service_id': service_id, 'state': state})}"


# -- the signed state ----------------------------------------------------------------------------------------


class StatePayload(BaseModel):
    """What a `state` carries: the tenant, a random nonce (used once) and its expiry (Unix seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: str = STATE_VERSION
    tenant: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]{1,40}$")
    nonce: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    expires_at: int = Field(ge=0)


class InvalidState(ValueError):
    """A `state` that must be refused: `malformed` (not ours at all), `forged` (wrong signature) or `expired`."""

    def __init__(self, problem: StateProblem, message: str) -> None:
        super().__init__(message)
        self.problem: StateProblem = problem


def _b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """The bytes of unpadded base64url (raises binascii.Error or ValueError on anything else)."""
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _state_mac(app_secret: str, body: str) -> bytes:
    """The state's HMAC-SHA256 under the tenant's app secret (domain-separated from TikTok's own signatures)."""
    return hmac.new(app_secret.encode("utf-8"), f"ordertrail-oauth-state:{body}".encode(), hashlib.sha256).digest()


def mint_state(tenant: str, app_secret: str, now: float, ttl_seconds: int, nonce: str | None = None) -> str:
    """A signed `state` for `tenant`, valid for `ttl_seconds` from `now`: `<base64url payload>.<base64url HMAC>`."""
    payload = StatePayload(tenant=tenant, nonce=nonce or _b64(secrets.token_bytes(NONCE_BYTES)), expires_at=int(now) + ttl_seconds)
    body = _b64(payload.model_dump_json().encode("utf-8"))
    return f"{body}.{_b64(_state_mac(app_secret, body))}"


def read_state(state: str | None) -> StatePayload:
    """The payload of a `state`, not yet verified (it names the tenant whose secret verifies it); InvalidState if unreadable."""
    body, dot, mac = (state or "").partition(".")
    if not dot or not body or not mac or len(state or "") > 1024:
        raise InvalidState("malformed", "state is not an OrderTrail authorization state")
    try:
        _unb64(mac)
        return StatePayload.model_validate_json(_unb64(body))
    except (ValueError, binascii.Error, ValidationError):
        raise InvalidState("malformed", "state is not an OrderTrail authorization state") from None


def verify_state(state: str | None, app_secret: str, now: float) -> StatePayload:
    """The payload of a `state` signed with `app_secret` that has not expired at `now`; else InvalidState naming why."""
    payload = read_state(state)
    body, _, mac = (state or "").partition(".")
    if not hmac.compare_digest(_unb64(mac), _state_mac(app_secret, body)):
        raise InvalidState("forged", "state is not signed by this tenant's TikTok Shop app")
    if payload.expires_at <= int(now):
        raise InvalidState("expired", "state has expired: start the authorization again")
    return payload


# -- TikTok's answers ----------------------------------------------------------------------------------------


class TokenGrant(BaseModel):
    """The `data` of a token get or refresh: the tokens (secret) and when each expires (Unix seconds)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: SecretStr
    access_token_expire_in: int = Field(ge=0)
    refresh_token: SecretStr
    refresh_token_expire_in: int = Field(ge=0)
    open_id: str = ""
    seller_name: str = ""
    seller_base_region: str = ""
    granted_scopes: list[str] = Field(default_factory=list)


class AuthorizedShop(BaseModel):
    """One shop of `GET /authorization/202309/shops`: its id, name, region, cipher (sent as `shop_cipher`), code and seller type."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str = ""
    region: str = ""
    cipher: str = Field(min_length=1)
    code: str = ""
    seller_type: str = ""


class TikTokShopAuthError(UpstreamError):
    """A token or shops call failed in a way a later attempt may not (TikTok down, rate limited, an unreadable answer)."""

    def __init__(self, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RefreshTokenRejected(TikTokShopAuthError):
    """TikTok refused the refresh token (expired, revoked or already rotated): the seller must authorize the app again."""


class AuthCodeRejected(TikTokShopAuthError):
    """TikTok refused the authorization code (invalid, expired or used): the seller must start the authorization again."""


def _codes(value: Iterable[int] | str) -> frozenset[int]:
    """A set of codes from integers or a comma-separated string (the setting's form)."""
    if isinstance(value, str):
        return frozenset(int(part) for part in value.split(",") if part.strip())
    return frozenset(value)


class TikTokShopAuthClient:
    """Token get and refresh on TikTok Shop's auth host, and the authorized shops on the Open API (signed like every Open API call)."""

    def __init__(
        self,
        auth_url: str,
        api_url: str,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        refresh_rejected_codes: Iterable[int] | str = REFRESH_REJECTED_CODES,
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        if session is None:
            # Here, not at the top: requests costs every handler importing this module ~40 ms, and only a client needs it.
            import requests

            session = requests.Session()
        self.session = session
        self.timeout = timeout
        self.clock = clock
        self.refresh_rejected_codes = _codes(refresh_rejected_codes)

    def get_token(self, app_key: str, app_secret: str, auth_code: str) -> TokenGrant:
        """Exchange an authorization code for the shop's tokens (AuthCodeRejected when TikTok refuses the code)."""
        query = {"app_key": app_key, "app_secret": app_secret, "auth_code": auth_code, "grant_type": "authorized_code"}
        code, message, data = self._call(self.auth_url + TOKEN_GET_PATH, query, {})
        if code != 0:
            error = AuthCodeRejected if code in AUTH_CODE_REJECTED_CODES else TikTokShopAuthError
            raise error(f"TikTok Shop refused the authorization code: {code} {message}", code)
        return self._grant(data)

    def refresh(self, app_key: str, app_secret: str, refresh_token: str) -> TokenGrant:
        """Rotate the tokens with the refresh token (RefreshTokenRejected when TikTok no longer accepts it)."""
        query = {"app_key": app_key, "app_secret": app_secret, "refresh_token": refresh_token, "grant_type": "refresh_token"}
        code, message, data = self._call(self.auth_url + TOKEN_REFRESH_PATH, query, {})
        if code != 0:
            error = RefreshTokenRejected if code in self.refresh_rejected_codes else TikTokShopAuthError
            raise error(f"TikTok Shop refused the token refresh: {code} {message}", code)
        return self._grant(data)

    def authorized_shops(self, app_key: str, app_secret: str, access_token: str) -> list[AuthorizedShop]:
        """The shops the seller authorized this app for (signed GET /authorization/202309/shops)."""
        query = {"app_key": app_key, "timestamp": str(int(self.clock()))}
        query["sign"] = tiktok_api_sign(app_secret, AUTHORIZED_SHOPS_PATH, query)
        headers = {"x-tts-access-token": access_token, "content-type": "application/json"}
        code, message, data = self._call(self.api_url + AUTHORIZED_SHOPS_PATH, query, headers)
        if code != 0:
            raise TikTokShopAuthError(f"TikTok Shop refused the authorized shops request: {code} {message}", code)
        shops = data.get("shops") if isinstance(data, dict) else None
        try:
            return [AuthorizedShop.model_validate(shop) for shop in shops or [] if isinstance(shop, dict)]
        except ValidationError:
            raise TikTokShopAuthError("TikTok Shop answered the authorized shops with a shop OrderTrail cannot read") from None

    def _call(self, url: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int | str, str, Any]:
        """GET and read TikTok's envelope `{code, message, data}`; the query holds secrets, so no error repeats the URL."""
        import requests  # loaded with the session; for its exception types

        try:
            response = self.session.get(url, params=query, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TikTokShopAuthError(f"TikTok Shop unreachable: {type(exc).__name__}") from None
        try:
            envelope = response.json()
        except ValueError:
            raise TikTokShopAuthError(f"TikTok Shop returned HTTP {response.status_code} with a non-JSON body") from None
        if not isinstance(envelope, dict):
            raise TikTokShopAuthError(f"TikTok Shop returned HTTP {response.status_code} with an unexpected body")
        code = envelope.get("code")
        if code is None or (response.status_code >= 400 and code == 0):
            code = f"HTTP {response.status_code}"
        return code, str(envelope.get("message") or ""), envelope.get("data")

    @staticmethod
    def _grant(data: Any) -> TokenGrant:
        """The grant in a successful answer's `data`."""
        try:
            return TokenGrant.model_validate(data)
        except ValidationError:
            raise TikTokShopAuthError("TikTok Shop answered with tokens OrderTrail cannot read") from None
