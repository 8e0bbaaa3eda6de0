"""A loopback stand-in for Shopify's Admin REST API: orders.json with cursor pages, webhooks.json, the admin token checked.

Every shop shares the stand-in's one URL (SHOPIFY_ADMIN_URL), so a request's shop is the one whose admin token it
carries in `X-Shopify-Access-Token` (unknown or missing: 401, as Shopify answers). It mirrors what
docs/decisions/2026-12-02-shopify-admin-api.md records: `status`, `created_at_min`/`created_at_max` (inclusive),
`limit` 1 to 250 (else 400), opaque `page_info` cursors in the `Link` header that refuse any other filter (400), and
webhook subscriptions that must be https, unique per topic and address, on a topic the token's scopes allow (422).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ordertrail_local.loopback import HttpResponse, json_response, serve_responder, stop_server

log = logging.getLogger("ordertrail_local.shopify_admin")

PATH = re.compile(r"^/admin/api/(?P<version>\d{4}-\d{2}|unstable)/(?P<resource>orders|webhooks)\.json$")
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
# With page_info, Shopify takes only these (the cursor keeps the first request's filters).
PAGE_INFO_PARAMETERS = frozenset({"page_info", "limit", "fields"})
ORDER_STATUSES = ("open", "closed", "cancelled", "any")
# Topics this stand-in subscribes, with the scope each needs (Shopify: orders/* need read_orders).
TOPIC_SCOPES = {
    "orders/create": "read_orders",
    "orders/updated": "read_orders",
    "orders/paid": "read_orders",
    "orders/cancelled": "read_orders",
    "orders/fulfilled": "read_orders",
    "app/uninstalled": "",
}
# The local stack serves plain http on loopback; Shopify takes only https, so only these hosts may be http here.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
PAGINATION_DOCS = "https://shopify.dev/api/usage/pagination-rest"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


@dataclass(frozen=True)
class ShopifyShop:
    """One shop the stand-in serves: its domain, the custom app's admin token and the token's scopes."""

    shop_domain: str
    admin_access_token: str
    scopes: frozenset[str] = frozenset({"read_orders"})


@dataclass
class _Cursor:
    """Where a listing continues: the shop, the matching orders' ids in listing order, and the offset of the page."""

    shop_domain: str
    ids: list[str]
    offset: int


@dataclass
class _ShopState:
    """A shop's orders (by id) and its webhook subscriptions."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)


def shops_from_tenants(tenants: dict[str, Any]) -> list[ShopifyShop]:
    """The shopify section of every tenant (tenants-file shape of docs/operations.md#secrets) that names a shop and its token."""
    found = []
    for config in (tenants.get("tenants") or {}).values():
        shopify = config.get("shopify") or {}
        if shopify.get("shop_domain") and shopify.get("admin_access_token"):
            found.append(ShopifyShop(str(shopify["shop_domain"]).lower(), str(shopify["admin_access_token"])))
    return found


def _time(value: str) -> datetime | None:
    """An ISO 8601 time with an offset (or Z) as UTC; None when it is not one."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _https_or_loopback(address: str) -> str | None:
    """Why Shopify would refuse this webhook address (None: it takes it)."""
    split = urlsplit(address)
    if split.scheme == "https" and split.netloc:
        return None
    if split.scheme == "http" and (split.hostname or "") in {h.strip("[]") for h in LOOPBACK_HOSTS}:
        return None  # the local stack's own http URL; real Shopify would refuse it
    return "protocol must be https" if split.netloc else "is not a valid URL"


class ShopifyAdminStandIn:
    """Serves orders.json and webhooks.json for the shops it knows, each reached with its own admin token."""

    def __init__(self, shops: list[ShopifyShop] | None = None) -> None:
        self.shops: dict[str, ShopifyShop] = {}  # admin token -> shop
        self.state: dict[str, _ShopState] = {}  # shop domain -> its orders and webhooks
        self.requests: list[dict[str, Any]] = []  # method, path, query, shop (never the token)
        self._cursors: dict[str, _Cursor] = {}
        self._next_id = 1_000_000_000
        self._outage: tuple[int, float | None] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for shop in shops or []:
            self.add_shop(shop)

    @property
    def url(self) -> str:
        """Base URL to give as SHOPIFY_ADMIN_URL."""
        if self._server is None:
            raise RuntimeError("the Shopify Admin stand-in is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- what the tests and the stack set up --------------------------------------------------------------------
    def add_shop(self, shop: ShopifyShop) -> None:
        """Know a shop and its admin token (a tenant configured after the stand-in started); the shop's data is kept."""
        with self._lock:
            self.shops = {token: known for token, known in self.shops.items() if known.shop_domain != shop.shop_domain}
            self.shops[shop.admin_access_token] = shop
            self.state.setdefault(shop.shop_domain, _ShopState())

    def put_orders(self, shop_domain: str, orders: list[dict[str, Any]]) -> None:
        """Add or replace orders (raw REST order objects, by id) of a shop."""
        with self._lock:
            state = self.state.setdefault(shop_domain.lower(), _ShopState())
            for order in orders:
                state.orders[str(order["id"])] = order

    def webhooks_of(self, shop_domain: str) -> list[dict[str, Any]]:
        """A copy of the shop's webhook subscriptions."""
        with self._lock:
            return [dict(hook) for hook in self.state.get(shop_domain.lower(), _ShopState()).webhooks]

    def outage(self, status: int = 503, retry_after: float | None = None) -> None:
        """From now on every request fails with this status (429 with `Retry-After`, default 2.0), until recover()."""
        self._outage = (status, retry_after if retry_after is not None or status != 429 else 2.0)

    def recover(self) -> None:
        """End the outage."""
        self._outage = None

    # -- answers -------------------------------------------------------------------------------------------------
    def respond(self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b"") -> HttpResponse:
        """The HTTP answer Shopify would give (testable without a socket)."""
        split = urlsplit(raw_path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query = dict(pairs)
        lowered = {key.lower(): value for key, value in headers.items()}
        shop = self.shops.get(lowered.get("x-shopify-access-token", ""))
        self.requests.append({"method": method, "path": split.path, "query": query, "shop": shop.shop_domain if shop else None})
        if self._outage is not None:
            status, retry_after = self._outage
            answer = json_response(
                status,
                {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}
                if status == 429
                else {"errors": "Internal Server Error"},
            )
            if retry_after is not None:
                answer.headers["Retry-After"] = f"{retry_after:.1f}"
            return answer
        match = PATH.match(split.path)
        if match is None or method not in ("GET", "POST") or (match["resource"] == "orders" and method != "GET"):
            return json_response(404, {"errors": "Not Found"})
        if shop is None:
            return json_response(401, {"errors": INVALID_TOKEN})
        if match["resource"] == "orders":
            if "read_orders" not in shop.scopes:
                return json_response(403, {"errors": "[API] This action requires merchant approval for read_orders scope."})
            return self._orders(shop, match["version"], pairs)
        if method == "GET":
            return self._list_webhooks(shop, query)
        return self._create_webhook(shop, match["version"], body)

    def _orders(self, shop: ShopifyShop, version: str, pairs: list[tuple[str, str]]) -> HttpResponse:
        """GET orders.json: a first page by filters, or the page a `page_info` cursor names, with its Link header."""
        query = dict(pairs)
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return json_response(400, {"errors": {"limit": "must be an integer"}})
        if not 1 <= limit <= MAX_LIMIT:
            return json_response(400, {"errors": {"limit": f"must be between 1 and {MAX_LIMIT}"}})
        page_info = query.get("page_info")
        with self._lock:
            if page_info is not None:
                extra = sorted({name for name, _ in pairs} - PAGE_INFO_PARAMETERS)
                if extra:
                    message = f"{extra[0]} cannot be passed when page_info is present. See {PAGINATION_DOCS} for more information."
                    return json_response(400, {"errors": message})
                cursor = self._cursors.get(page_info)
                if cursor is None or cursor.shop_domain != shop.shop_domain:
                    return json_response(400, {"errors": {"page_info": "Invalid value."}})
            else:
                status = query.get("status", "open")
                if status not in ORDER_STATUSES:
                    return json_response(400, {"errors": {"status": f"must be one of {', '.join(ORDER_STATUSES)}"}})
                bounds = []
                for name in ("created_at_min", "created_at_max"):
                    value = query.get(name)
                    moment = _time(value) if value is not None else None
                    if value is not None and moment is None:
                        return json_response(400, {"errors": {name: "must be an ISO 8601 time"}})
                    bounds.append(moment)
                cursor = _Cursor(shop.shop_domain, self._matching(shop.shop_domain, status, bounds[0], bounds[1]), 0)
            state = self.state[shop.shop_domain]
            ids = cursor.ids[cursor.offset : cursor.offset + limit]
            orders = [state.orders[i] for i in ids if i in state.orders]
            links = []
            if cursor.offset > 0:
                links.append(self._link(version, limit, _Cursor(shop.shop_domain, cursor.ids, max(0, cursor.offset - limit)), "previous"))
            if cursor.offset + limit < len(cursor.ids):
                links.append(self._link(version, limit, _Cursor(shop.shop_domain, cursor.ids, cursor.offset + limit), "next"))
        answer = json_response(200, {"orders": orders})
        if links:
            answer.headers["Link"] = ", ".join(links)
        return answer

    def _matching(self, shop_domain: str, status: str, start: datetime | None, end: datetime | None) -> list[str]:
        """The ids of the shop's orders of this status created in [start, end] (both inclusive, as Shopify's filters are)."""
        chosen = []
        for order_id, order in self.state[shop_domain].orders.items():
            created = _time(str(order.get("created_at", "")))
            if created is None or (start is not None and created < start) or (end is not None and created > end):
                continue
            cancelled, closed = bool(order.get("cancelled_at")), bool(order.get("closed_at"))
            if (
                status == "any"
                or (status == "cancelled" and cancelled)
                or (status == "closed" and closed)
                or (status == "open" and not (cancelled or closed))
            ):
                chosen.append((created, order_id))
        return [order_id for _, order_id in sorted(chosen)]

    def _link(self, version: str, limit: int, cursor: _Cursor, rel: str) -> str:
        """A Link header entry for a page (the cursor is kept here; its token says nothing about it)."""
        token = secrets.token_urlsafe(24)
        self._cursors[token] = cursor
        base = self.url if self._server is not None else "http://127.0.0.1"
        return f'<{base}/admin/api/{version}/orders.json?{urlencode({"limit": limit, "page_info": token})}>; rel="{rel}"'

    def _list_webhooks(self, shop: ShopifyShop, query: dict[str, str]) -> HttpResponse:
        """GET webhooks.json: this app's subscriptions on the shop (by `topic` and `address` when given)."""
        with self._lock:
            hooks = [
                dict(hook)
                for hook in self.state[shop.shop_domain].webhooks
                if query.get("topic") in (None, hook["topic"]) and query.get("address") in (None, hook["address"])
            ]
        return json_response(200, {"webhooks": hooks})

    def _create_webhook(self, shop: ShopifyShop, version: str, body: bytes) -> HttpResponse:
        """POST webhooks.json `{"webhook": {topic, address, format}}`: 201 with the subscription, or 422 naming what is wrong."""
        try:
            webhook = json.loads(body or b"null").get("webhook")
        except (ValueError, AttributeError):
            return json_response(400, {"errors": {"webhook": "Required parameter missing or invalid"}})
        if not isinstance(webhook, dict):
            return json_response(400, {"errors": {"webhook": "Required parameter missing or invalid"}})
        topic, address, format_ = str(webhook.get("topic") or ""), str(webhook.get("address") or ""), str(webhook.get("format") or "json")
        errors: dict[str, list[str]] = {}
        scope = TOPIC_SCOPES.get(topic)
        if scope is None or (scope and scope not in shop.scopes):
            allowed = ", ".join(t for t, needed in TOPIC_SCOPES.items() if not needed or needed in shop.scopes)
            errors["topic"] = [f"Invalid topic specified: {topic}. Topics allowed: {allowed}"]
        refusal = _https_or_loopback(address) if address else "can't be blank"
        if refusal:
            errors["address"] = [refusal]
        if format_ not in ("json", "xml"):
            errors["format"] = ["is not included in the list"]
        with self._lock:
            hooks = self.state[shop.shop_domain].webhooks
            if not errors and any(h["topic"] == topic and h["address"] == address for h in hooks):
                errors["address"] = ["for this topic has already been taken"]
            if errors:
                return json_response(422, {"errors": errors})
            self._next_id += 1
            now = datetime.now(UTC).replace(microsecond=0).isoformat()
            created = {
                "id": self._next_id,
                "address": address,
                "topic": topic,
                "created_at": now,
                "updated_at": now,
                "format": format_,
                "fields": [],
                "metafield_namespaces": [],
                "api_version": version,
            }
            hooks.append(created)
        return json_response(201, {"webhook": dict(created)})

    # -- serving -------------------------------------------------------------------------------------------------
    def start(self) -> ShopifyAdminStandIn:
        """Listen on 127.0.0.1 (a free port) in a daemon thread."""
        if self._server is None:
            self._server, self._thread = serve_responder(self.respond, "shopify-admin-stand-in", log)
        return self

    def stop(self) -> None:
        """Stop listening."""
        stop_server(self._server, self._thread)
        self._server = self._thread = None
