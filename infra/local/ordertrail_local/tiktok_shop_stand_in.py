"""A loopback stand-in for TikTok Shop: Get Order Detail and Get Order List (sign and token checked), and the OAuth flow.

Besides the orders it serves the seller's authorization page (a consenting seller: it redirects straight back with a
code and the state), token get and refresh (tokens expire by the injectable clock; a refresh rotates the refresh token
and the old one stops working), the authorized shops, and an outage switch (docs/decisions/2026-12-02-tiktok-shop-oauth.md
records the real endpoints this mirrors).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ordertrail.sources.signatures import tiktok_api_sign
from ordertrail_local.loopback import HttpResponse, json_response, serve_responder, stop_server

log = logging.getLogger("ordertrail_local.tiktok_shop")

ORDERS_PATH = "/order/202309/orders"
SEARCH_PATH = "/order/202309/orders/search"
MAX_IDS = 50
MAX_PAGE_SIZE = 100
TIMESTAMP_TOLERANCE_SECONDS = 300
AUTHORIZE_PATH = "/open/authorize"
TOKEN_GET_PATH = "/api/v2/token/get"
TOKEN_REFRESH_PATH = "/api/v2/token/refresh"
SHOPS_PATH = "/authorization/202309/shops"
# TikTok's codes (docs/decisions/2026-12-02-tiktok-shop-oauth.md); 36004001 for wrong app credentials is this stand-in's own.
ACCESS_TOKEN_EXPIRED = 105002
BAD_APP_CREDENTIALS = 36004001
INVALID_AUTH_CODE = 36004004
UNKNOWN_REFRESH_TOKEN = 36004005
ACCESS_TOKEN_SECONDS = 7 * 86_400
REFRESH_TOKEN_SECONDS = 365 * 86_400


def _cursor(key: tuple[int, str]) -> str:
    """An opaque page token: the (create_time, id) of the last order returned."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _cursor_of(token: str) -> tuple[int, str] | None:
    """The position a page token names; None for no token; ValueError for one this stand-in never issued."""
    if not token:
        return None
    try:
        created, order_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(created), str(order_id)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a page token of this stand-in: {token!r}") from exc


@dataclass(frozen=True)
class ShopCredentials:
    """One shop's app credentials, as the tenants file gives them."""

    app_key: str
    app_secret: str
    access_token: str
    shop_cipher: str
    service_id: str = ""


@dataclass(frozen=True)
class IssuedToken:
    """A token the stand-in issued: for which app, until when (Unix seconds)."""

    app_key: str
    expires_at: int


def credentials_from_tenants(tenants: dict[str, Any]) -> list[ShopCredentials]:
    """The tiktok_shop section of every tenant in the tenants-file shape of docs/operations.md#secrets."""
    found = []
    for config in (tenants.get("tenants") or {}).values():
        shop = config.get("tiktok_shop") or {}
        if shop.get("app_key") and shop.get("app_secret"):
            found.append(
                ShopCredentials(
                    shop["app_key"],
                    shop["app_secret"],
                    shop.get("access_token", ""),
                    shop.get("shop_cipher", ""),
                    shop.get("service_id", ""),
                )
            )
    return found


class TikTokShopStandIn:
    """Serves order detail and order search from in-memory orders to callers that sign like TikTok Shop requires, and the OAuth flow."""

    def __init__(self, credentials: list[ShopCredentials], orders: list[dict[str, Any]] | None = None, clock: Any = time.time) -> None:
        self.credentials = {c.app_key: c for c in credentials}
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.clock = clock
        # Where the consenting seller is sent back (the app's redirect URL in Partner Center); a `redirect_uri` query wins.
        self.redirect_uri: str | None = None
        self.access_token_seconds = ACCESS_TOKEN_SECONDS
        self.refresh_token_seconds = REFRESH_TOKEN_SECONDS
        self.codes: dict[str, str] = {}  # authorization code -> service id, until it is exchanged
        self.access_tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, IssuedToken] = {}
        self.refreshes = 0  # successful refreshes (a refresh token rotated)
        self._outage: int | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.put_orders(orders or [])

    @property
    def url(self) -> str:
        """Base URL to give as TIKTOK_SHOP_API_URL."""
        if self._server is None:
            raise RuntimeError("the TikTok Shop stand-in is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def put_orders(self, orders: list[dict[str, Any]]) -> None:
        """Add or replace orders (by id) that the API will return."""
        for order in orders:
            self.orders[str(order["id"])] = order

    def add_credentials(self, credentials: ShopCredentials) -> None:
        """Know another app (a tenant configured after the stand-in started)."""
        self.credentials[credentials.app_key] = credentials

    def shop_of(self, app_key: str) -> dict[str, str]:
        """The one shop a seller authorizes for this app: an id, name and region, and its cipher."""
        creds = self.credentials[app_key]
        digits = str(int(hashlib.sha256(app_key.encode()).hexdigest()[:12], 16)).rjust(15, "7")[:19]
        return {
            "id": digits,
            "name": f"{app_key} shop",
            "region": "US",
            "cipher": creds.shop_cipher or f"ROW_{app_key}",
            "code": f"US{digits[-6:]}",
            "seller_type": "LOCAL",
        }

    # -- switches the tests use ----------------------------------------------------------------------------
    def outage(self, status: int = 503) -> None:
        """From now on every request fails with this HTTP status (a JSON error body), until recover()."""
        self._outage = status

    def recover(self) -> None:
        """End the outage."""
        self._outage = None

    def revoke_refresh_tokens(self, app_key: str | None = None) -> None:
        """The seller revoked the authorization (or the refresh tokens expired): every refresh token of the app stops working."""
        with self._lock:
            for token in [t for t, issued in self.refresh_tokens.items() if app_key is None or issued.app_key == app_key]:
                del self.refresh_tokens[token]

    def consent(self, query: dict[str, str]) -> str:
        """A seller consenting on the authorization page: the redirect URL back to the app, with a fresh `code` and the `state`."""
        redirect = query.get("redirect_uri") or self.redirect_uri
        if not redirect:
            raise ValueError("the stand-in knows no redirect URL: set stand_in.redirect_uri or pass redirect_uri")
        code = f"code-{secrets.token_urlsafe(12)}"
        with self._lock:
            self.codes[code] = query.get("service_id", "")
        separator = "&" if "?" in redirect else "?"
        return f"{redirect}{separator}{urlencode({'code': code, 'state': query.get('state', '')})}"

    def respond(self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b"") -> HttpResponse:
        """The full HTTP answer: the authorization page redirects (302), everything else is answer()'s JSON."""
        split = urlsplit(raw_path)
        if method == "GET" and split.path == AUTHORIZE_PATH and self._outage is None:
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            self.requests.append({"method": method, "path": split.path, "query": query})
            try:
                return HttpResponse(302, {"location": self.consent(query)})
            except ValueError as exc:
                return json_response(400, {"code": 40000, "message": str(exc)})
        return json_response(*self.answer(method, raw_path, headers, body))

    def answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, Any]]:
        """The status and JSON body the real API would give (testable without a socket)."""
        request_id = uuid.uuid4().hex.upper()
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        self.requests.append({"method": method, "path": split.path, "query": query})

        def error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
            return status, {"code": code, "message": message, "request_id": request_id, "data": None}

        if self._outage is not None:
            return error(self._outage, self._outage * 100, "Service unavailable (the local stand-in's outage switch is on).")
        if method == "GET" and split.path in (TOKEN_GET_PATH, TOKEN_REFRESH_PATH):
            return self._token(split.path, query, request_id, error)
        if (method, split.path) not in (("GET", ORDERS_PATH), ("GET", SHOPS_PATH), ("POST", SEARCH_PATH)):
            return error(404, 40004, f"{method} {split.path} is not served by the local TikTok Shop stand-in")
        creds = self.credentials.get(query.get("app_key", ""))
        if creds is None:
            return error(401, 106001, "Invalid app_key.")
        try:
            timestamp = int(query.get("timestamp", ""))
        except ValueError:
            return error(400, 106003, "Invalid timestamp.")
        if abs(self.clock() - timestamp) > TIMESTAMP_TOLERANCE_SECONDS:
            return error(401, 106003, "The request timestamp is outside the accepted window.")
        expected = tiktok_api_sign(creds.app_secret, split.path, query, body)
        if query.get("sign", "").lower() != expected:
            return error(401, 106002, "Invalid signature.")
        token = {k.lower(): v for k, v in headers.items()}.get("x-tts-access-token", "")
        issued = self.access_tokens.get(token)
        if issued is not None and issued.app_key == creds.app_key and issued.expires_at <= self.clock():
            return error(401, ACCESS_TOKEN_EXPIRED, "access token is expired, please refresh it")
        if not token or (token != creds.access_token and (issued is None or issued.app_key != creds.app_key)):
            return error(401, ACCESS_TOKEN_EXPIRED, "The access token is invalid or expired.")
        if split.path == SHOPS_PATH:
            return 200, {"code": 0, "message": "Success", "request_id": request_id, "data": {"shops": [self.shop_of(creds.app_key)]}}
        cipher = self.shop_of(creds.app_key)["cipher"] if issued is not None else creds.shop_cipher
        if query.get("shop_cipher") != cipher:
            return error(403, 106011, "The shop_cipher does not belong to this app's authorized shop.")
        if split.path == SEARCH_PATH:
            return self._search(query, body, request_id, error)
        ids = [i for i in query.get("ids", "").split(",") if i]
        if not ids or len(ids) > MAX_IDS:
            return error(400, 36009003, f"ids must hold 1 to {MAX_IDS} order ids.")
        found = [self.orders[i] for i in ids if i in self.orders]
        return 200, {"code": 0, "message": "Success", "request_id": request_id, "data": {"orders": found}}

    def _search(self, query: dict[str, str], body: bytes, request_id: str, error: Any) -> tuple[int, dict[str, Any]]:
        """Get Order List: orders created in [create_time_ge, create_time_lt), oldest first, page_size ≤ 100, an opaque cursor."""
        try:
            size = int(query.get("page_size", ""))
            filters = json.loads(body or b"{}")
            low, high = int(filters.get("create_time_ge", 0)), int(filters.get("create_time_lt", 2**40))
        except (ValueError, TypeError, AttributeError):
            return error(400, 36009003, "page_size, create_time_ge and create_time_lt must be whole numbers.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return error(400, 36009003, f"page_size must be 1 to {MAX_PAGE_SIZE}.")
        try:
            after = _cursor_of(query.get("page_token", ""))
        except ValueError:
            return error(400, 36009003, "Invalid page_token.")
        with self._lock:
            matching = sorted(
                ((int(o.get("create_time") or 0), str(o["id"])), o)
                for o in self.orders.values()
                if low <= int(o.get("create_time") or 0) < high
            )
        rest = [(key, order) for key, order in matching if after is None or key > after]
        page, more = rest[:size], len(rest) > size
        next_token = _cursor(page[-1][0]) if more else ""
        data = {"orders": [order for _, order in page], "next_page_token": next_token, "total_count": len(matching)}
        return 200, {"code": 0, "message": "Success", "request_id": request_id, "data": data}

    def _token(self, path: str, query: dict[str, str], request_id: str, error: Any) -> tuple[int, dict[str, Any]]:
        """Token get (an authorization code, once) or refresh (the refresh token rotates; the old one stops working)."""
        creds = self.credentials.get(query.get("app_key", ""))
        if creds is None or query.get("app_secret") != creds.app_secret:
            return error(200, BAD_APP_CREDENTIALS, "app_key or app_secret is invalid")
        with self._lock:
            if path == TOKEN_GET_PATH:
                service_id = self.codes.pop(query.get("auth_code", ""), None)
                if (
                    query.get("grant_type") != "authorized_code"
                    or service_id is None
                    or (service_id and creds.service_id not in ("", service_id))
                ):
                    return error(200, INVALID_AUTH_CODE, "invalid auth code")
            else:
                old = self.refresh_tokens.get(query.get("refresh_token", ""))
                if (
                    query.get("grant_type") != "refresh_token"
                    or old is None
                    or old.app_key != creds.app_key
                    or old.expires_at <= self.clock()
                ):
                    return error(200, UNKNOWN_REFRESH_TOKEN, "can not find related auth record")
                del self.refresh_tokens[query["refresh_token"]]
                self.refreshes += 1
            now = int(self.clock())
            access, refresh = f"TTP_{secrets.token_urlsafe(18)}", f"TTR_{secrets.token_urlsafe(18)}"
            self.access_tokens[access] = IssuedToken(creds.app_key, now + self.access_token_seconds)
            self.refresh_tokens[refresh] = IssuedToken(creds.app_key, now + self.refresh_token_seconds)
        data = {
            "access_token": access,
            "access_token_expire_in": now + self.access_token_seconds,
            "refresh_token": refresh,
            "refresh_token_expire_in": now + self.refresh_token_seconds,
            "open_id": f"open-{creds.app_key}",
            "seller_name": f"{creds.app_key} seller",
            "seller_base_region": "US",
            "user_type": 0,
            "granted_scopes": ["seller.authorization.info", "seller.order.info"],
        }
        return 200, {"code": 0, "message": "success", "request_id": request_id, "data": data}

    def start(self) -> TikTokShopStandIn:
        """Listen on 127.0.0.1 (a free port) in a daemon thread."""
        if self._server is None:
            self._server, self._thread = serve_responder(self.respond, "tiktok-shop-stand-in", log)
        return self

    def stop(self) -> None:
        """Stop listening."""
        stop_server(self._server, self._thread)
        self._server = self._thread = None
