"""A loopback stand-in for the TikTok Shop Open API's Get Order Detail, checking the request sign and token."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ordertrail.sources.signatures import tiktok_api_sign
from ordertrail_local.loopback import json_response, start_server, stop_server, write_response

log = logging.getLogger("ordertrail_local.tiktok_shop")

ORDERS_PATH = "/order/202309/orders"
MAX_IDS = 50
TIMESTAMP_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class ShopCredentials:
    """One shop's app credentials, as the tenants file gives them."""

    app_key: str
    app_secret: str
    access_token: str
    shop_cipher: str


def credentials_from_tenants(tenants: dict[str, Any]) -> list[ShopCredentials]:
    """The tiktok_shop section of every tenant in the tenants-file shape of docs/operations.md#secrets."""
    found = []
    for config in (tenants.get("tenants") or {}).values():
        shop = config.get("tiktok_shop") or {}
        if shop.get("app_key") and shop.get("app_secret"):
            found.append(ShopCredentials(shop["app_key"], shop["app_secret"], shop.get("access_token", ""), shop.get("shop_cipher", "")))
    return found


class TikTokShopStandIn:
    """Serves GET /order/202309/orders from in-memory orders to callers that sign like TikTok Shop requires."""

    def __init__(self, credentials: list[ShopCredentials], orders: list[dict[str, Any]] | None = None, clock: Any = time.time) -> None:
        self.credentials = {c.app_key: c for c in credentials}
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.clock = clock
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

    def answer(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The status and JSON body the real API would give (testable without a socket)."""
        request_id = uuid.uuid4().hex.upper()
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        self.requests.append({"method": method, "path": split.path, "query": query})

        def error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
            return status, {"code": code, "message": message, "request_id": request_id, "data": None}

        if method != "GET" or split.path != ORDERS_PATH:
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
        expected = tiktok_api_sign(creds.app_secret, split.path, query)
        if query.get("sign", "").lower() != expected:
            return error(401, 106002, "Invalid signature.")
        token = {k.lower(): v for k, v in headers.items()}.get("x-tts-access-token", "")
        if not token or token != creds.access_token:
            return error(401, 105002, "The access token is invalid or expired.")
        if query.get("shop_cipher") != creds.shop_cipher:
            return error(403, 106011, "The shop_cipher does not belong to this app's authorized shop.")
        ids = [i for i in query.get("ids", "").split(",") if i]
        if not ids or len(ids) > MAX_IDS:
            return error(400, 36009003, f"ids must hold 1 to {MAX_IDS} order ids.")
        found = [self.orders[i] for i in ids if i in self.orders]
        return 200, {"code": 0, "message": "Success", "request_id": request_id, "data": {"orders": found}}

    def start(self) -> TikTokShopStandIn:
        """Listen on 127.0.0.1 (a free port) in a daemon thread."""
        if self._server is not None:
            return self
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            """HTTP glue around TikTokShopStandIn.answer."""

            def do_GET(self) -> None:
                """Answer a GET."""
                self._reply("GET")

            def do_POST(self) -> None:
                """Answer a POST (always an error here)."""
                self._reply("POST")

            def _reply(self, method: str) -> None:
                write_response(self, json_response(*stand_in.answer(method, self.path, dict(self.headers.items()))))

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: requests are kept in stand_in.requests instead of printed."""
                log.debug(format, *args)

        self._server, self._thread = start_server(("127.0.0.1", 0), Handler, "tiktok-shop-stand-in")
        return self

    def stop(self) -> None:
        """Stop listening."""
        stop_server(self._server, self._thread)
        self._server = self._thread = None
