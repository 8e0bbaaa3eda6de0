"""Shopify's Admin REST API for one shop: orders by creation time (cursor pages), and the shop's webhook subscriptions.

What the endpoints take and answer is recorded in docs/decisions/2026-12-02-shopify-admin-api.md. The admin token goes
only into the `X-Shopify-Access-Token` header: no error message carries it (a message that would is scrubbed), and
exceptions from `requests` are not chained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordertrail.core.errors import UpstreamError

if TYPE_CHECKING:
    import requests

ORDERS_PATH = "/admin/api/{version}/orders.json"
WEBHOOKS_PATH = "/admin/api/{version}/webhooks.json"
TOKEN_HEADER = "X-Shopify-Access-Token"
MAX_LIMIT = 250  # Shopify's largest page of orders (and of webhooks)
MAX_WEBHOOK_PAGES = 20  # an app has a handful of subscriptions per shop; more pages than this is an answer we cannot read
# A shop's domain as Shopify names it (`acme.myshopify.com`): host labels only, no scheme, port or path.
SHOP_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
# Statuses that mean the token is wrong (401) or lacks a scope the call needs (403): the seller must fix the app.
TOKEN_REJECTED_STATUSES = frozenset({401, 403})


def shop_admin_url(shop_domain: str, configured: str = "") -> str:
    """The Admin API base URL of a shop: `configured` (SHOPIFY_ADMIN_URL, e.g. the local stand-in) when set, else `https://{shop_domain}`."""
    if configured:
        return configured.rstrip("/")
    return f"https://{normal_shop_domain(shop_domain)}"


def normal_shop_domain(shop_domain: str) -> str:
    """The shop's domain in lower case, without a scheme or trailing slash a seller may have pasted with it."""
    domain = shop_domain.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    return domain.rstrip("/")


def is_shop_domain(shop_domain: str) -> bool:
    """Whether the value (after normal_shop_domain) is a host name such as `acme.myshopify.com`."""
    return bool(SHOP_DOMAIN.match(normal_shop_domain(shop_domain)))


class ShopifyWebhook(BaseModel):
    """One webhook subscription of this app on the shop, as `webhooks.json` lists it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int | str = Field(description="Shopify's id of the subscription")
    topic: str = Field(description="The event topic, e.g. `orders/create`")
    address: str = Field(description="Where Shopify delivers it")
    format: str = Field(default="json", description="`json` or `xml`")


@dataclass(frozen=True)
class ShopifyOrdersPage:
    """One page of `orders.json`: the raw REST order objects, and the cursor of the next page (None on the last one)."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    next_page_info: str | None = None


class ShopifyAdminError(UpstreamError):
    """A Shopify Admin API call failed; `token_rejected` when Shopify refused the admin token (401) or its scopes (403)."""

    def __init__(self, message: str, *, status: int | None = None, token_rejected: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.token_rejected = token_rejected
        self.retry_after = retry_after


def _utc(moment: datetime) -> datetime:
    """The moment in UTC (a naive datetime is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _second(moment: datetime) -> str:
    """RFC 3339 at whole seconds, the precision of Shopify's `created_at` filters."""
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def created_bounds(created_from: datetime, created_to: datetime) -> tuple[str, str]:
    """`created_at_min` and `created_at_max` for the half-open range [created_from, created_to).

    Shopify's filters are inclusive at both ends and compare whole seconds. So the lower bound rounds up to the next
    whole second (nothing created before created_from), and the upper bound is the last whole second before
    created_to: an order created exactly at created_to belongs to the next range, never to both.
    """
    start, end = _utc(created_from), _utc(created_to)
    if start.microsecond:
        start = start.replace(microsecond=0) + timedelta(seconds=1)
    last = (end - timedelta(microseconds=1)).replace(microsecond=0)
    return _second(start), _second(last)


def _created_at(order: dict[str, Any]) -> datetime | None:
    """An order's `created_at` as a UTC datetime, None when it is missing or unreadable (left for the importer to refuse)."""
    value = order.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _next_page_info(response: requests.Response) -> str | None:
    """The `page_info` of the Link header's `rel="next"` URL (None when there is no next page)."""
    url = (response.links.get("next") or {}).get("url")
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page_info")
    return values[0] if values else None


class ShopifyAdminClient:
    """The Admin REST API of one shop under one admin token (`X-Shopify-Access-Token`), at one API version."""

    def __init__(
        self, base_url: str, access_token: str, api_version: str, session: requests.Session | None = None, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._access_token = access_token
        self.api_version = api_version
        if session is None:
            # Here, not at the top: requests costs every handler importing this module ~40 ms, and only a client needs it.
            import requests

            session = requests.Session()
        self.session = session
        self.timeout = timeout

    def __repr__(self) -> str:
        """The shop and version, never the token."""
        return f"ShopifyAdminClient({self.base_url!r}, api_version={self.api_version!r})"

    # -- orders --------------------------------------------------------------------------------------------------
    def orders_page(
        self, created_from: datetime, created_to: datetime, page_info: str | None = None, limit: int = MAX_LIMIT
    ) -> ShopifyOrdersPage:
        """One page of the shop's orders (any status) created in [created_from, created_to); `page_info` continues a listing.

        With `page_info`, Shopify refuses every filter but `limit` (it keeps the first request's filters inside the
        cursor), so only `limit` is sent; give the same range as the first page, which is used to filter the page.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
        if page_info:
            query: dict[str, str] = {"limit": str(limit), "page_info": page_info}
        else:
            created_at_min, created_at_max = created_bounds(created_from, created_to)
            query = {"status": "any", "created_at_min": created_at_min, "created_at_max": created_at_max, "limit": str(limit)}
        response = self._call("GET", ORDERS_PATH, "list orders", params=query)
        body = self._json(response, "list orders")
        orders = body.get("orders")
        if not isinstance(orders, list) or not all(isinstance(order, dict) for order in orders):
            raise ShopifyAdminError(
                f"Shopify answered list orders with HTTP {response.status_code} but no list of orders", status=response.status_code
            )
        start, end = _utc(created_from), _utc(created_to)
        # Whole-second bounds already keep the range; this also keeps it when Shopify's clock rounding differs.
        kept = [order for order in orders if (at := _created_at(order)) is None or start <= at < end]
        return ShopifyOrdersPage(orders=kept, next_page_info=_next_page_info(response))

    # -- webhooks ------------------------------------------------------------------------------------------------
    def webhooks(self) -> list[ShopifyWebhook]:
        """Every webhook subscription this app has on the shop (Shopify lists only the calling app's own)."""
        found: list[ShopifyWebhook] = []
        query: dict[str, str] = {"limit": str(MAX_LIMIT)}
        for _ in range(MAX_WEBHOOK_PAGES):
            response = self._call("GET", WEBHOOKS_PATH, "list webhooks", params=query)
            listed = self._json(response, "list webhooks").get("webhooks")
            if not isinstance(listed, list):
                raise ShopifyAdminError(f"Shopify answered list webhooks with HTTP {response.status_code} but no list of webhooks")
            found += [self._webhook(item, "list webhooks") for item in listed]
            next_page = _next_page_info(response)
            if next_page is None:
                return found
            query = {"limit": str(MAX_LIMIT), "page_info": next_page}
        raise ShopifyAdminError(f"Shopify listed more than {MAX_WEBHOOK_PAGES} pages of webhooks")

    def create_webhook(self, topic: str, address: str) -> ShopifyWebhook:
        """Subscribe `topic` to be delivered to `address` as JSON (422 from Shopify, e.g. an address it refuses, is a ShopifyAdminError)."""
        payload = {"webhook": {"topic": topic, "address": address, "format": "json"}}
        response = self._call("POST", WEBHOOKS_PATH, f"subscribe {topic}", json=payload)
        return self._webhook(self._json(response, f"subscribe {topic}").get("webhook"), f"subscribe {topic}")

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        """Send one request; any answer but a 2xx becomes a ShopifyAdminError naming the cause."""
        url = self.base_url + path.format(version=self.api_version)
        headers = {TOKEN_HEADER: self._access_token, "Accept": "application/json"}
        import requests  # loaded with the session; for its exception types

        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ShopifyAdminError(self._scrub(f"Shopify unreachable for {what}: {type(exc).__name__}")) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        detail = self._errors_of(response)
        if status in TOKEN_REJECTED_STATUSES:
            reason = "refused the admin access token" if status == 401 else "refused the admin access token's scopes"
            raise ShopifyAdminError(self._scrub(f"Shopify {reason} for {what} (HTTP {status}){detail}"), status=status, token_rejected=True)
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            wait = f"Retry-After {response.headers.get('Retry-After')} s" if retry_after is not None else "no Retry-After"
            raise ShopifyAdminError(f"Shopify rate limited {what} (HTTP 429, {wait})", status=status, retry_after=retry_after)
        if status >= 500:
            raise ShopifyAdminError(f"Shopify failed to {what} (HTTP {status})", status=status)
        raise ShopifyAdminError(self._scrub(f"Shopify refused to {what} (HTTP {status}){detail}"), status=status)

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        """The JSON object a successful answer carries; anything else is a ShopifyAdminError."""
        try:
            body = response.json()
        except ValueError:
            raise ShopifyAdminError(f"Shopify answered {what} with HTTP {response.status_code} and a body that is not JSON") from None
        if not isinstance(body, dict):
            raise ShopifyAdminError(f"Shopify answered {what} with HTTP {response.status_code} and JSON that is not an object")
        return body

    def _webhook(self, value: Any, what: str) -> ShopifyWebhook:
        """One subscription of an answer."""
        try:
            return ShopifyWebhook.model_validate(value)
        except ValidationError:
            raise ShopifyAdminError(f"Shopify answered {what} with a webhook OrderTrail cannot read") from None

    def _errors_of(self, response: requests.Response) -> str:
        """Shopify's `errors` member (a text, a list or a map of field to texts), as `: <text>`, at most 300 characters."""
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            return ""
        if isinstance(errors, dict):
            text = "; ".join(f"{key} {' '.join(map(str, v)) if isinstance(v, list) else v}" for key, v in errors.items())
        elif isinstance(errors, list):
            text = "; ".join(map(str, errors))
        else:
            text = str(errors) if errors else ""
        return f": {text[:300]}" if text else ""

    def _scrub(self, message: str) -> str:
        """The message with the token replaced, should an answer ever echo it."""
        return message.replace(self._access_token, "[admin token]") if self._access_token else message


def _seconds(value: str | None) -> float | None:
    """A Retry-After value in seconds (Shopify sends a number, e.g. `2.0`); None when absent or not a number."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
