"""TikTok Shop: webhook notification models, the Get Order Detail (202309) client and order normalisation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from ordertrail.core.errors import UpstreamError
from ordertrail.core.models import Address, Buyer, LineItem, Order, check_storable
from ordertrail.sources.signatures import tiktok_api_sign
from ordertrail.sources.values import PAYLOAD_CONFIG, Amount, Scalar, WholeNumber, fitting, money, text

if TYPE_CHECKING:
    import requests

ORDER_STATUS_CHANGE = 1
MAX_IDS_PER_REQUEST = 50
DEFAULT_API_VERSION = "202309"
# Get Order List answers at most 100 orders a page (docs/decisions/2026-12-02-history-import.md).
MAX_PAGE_SIZE = 100


class OrderPage(BaseModel):
    """One page of an order search: the raw orders and the cursor of the next page (None: this was the last)."""

    orders: list[dict[str, Any]]
    next_page_token: str | None = None


class TikTokNotification(BaseModel):
    """A TikTok Shop push notification envelope; `data` depends on `type` (1 = order status change)."""

    model_config = ConfigDict(extra="ignore")

    type: WholeNumber
    tts_notification_id: StrictStr = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    shop_id: StrictStr = Field(min_length=1, max_length=100)
    timestamp: WholeNumber = Field(ge=0)
    data: dict[str, Any]


class OrderStatusChange(BaseModel):
    """The `data` of an order status change notification (type 1); statuses may say CANCEL or CANCELLED."""

    model_config = ConfigDict(extra="ignore")

    # TikTok's order ids are digit strings; anything outside printable ASCII can never be fetched or addressed.
    order_id: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    order_status: StrictStr = Field(min_length=1, max_length=64)
    update_time: WholeNumber = Field(ge=0)
    is_on_hold_order: StrictBool = False


class _Payload(BaseModel):
    """Base of the order-detail shape check: fields OrderTrail does not read are ignored."""

    model_config = PAYLOAD_CONFIG


class _Line(_Payload):
    sku_id: Scalar = None
    seller_sku: Scalar = None
    product_id: Scalar = None
    product_name: Scalar = None
    currency: Scalar = None
    original_price: Amount = None
    sale_price: Amount = None
    seller_discount: Amount = None
    platform_discount: Amount = None


class _Payment(_Payload):
    currency: Scalar = None
    original_total_product_price: Amount = None
    sub_total: Amount = None
    shipping_fee: Amount = None
    tax: Amount = None
    seller_discount: Amount = None
    platform_discount: Amount = None
    total_amount: Amount = None


class _District(_Payload):
    address_level_name: Scalar = None
    address_name: Scalar = None


class _Recipient(_Payload):
    name: Scalar = None
    phone_number: Scalar = None
    address_line1: Scalar = None
    address_line2: Scalar = None
    address_line3: Scalar = None
    address_line4: Scalar = None
    postal_code: Scalar = None
    region_code: Scalar = None
    district_info: list[_District] = Field(default_factory=list)


def _unix_time(value: Any) -> Any:
    """TikTok's times are Unix seconds (an integer, or digits in a string); a boolean or anything else is not a time."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise ValueError("must be Unix seconds")
    return int(value)


class TikTokOrderPayload(_Payload):
    """The shape of one Get Order Detail order, as far as OrderTrail reads it (it comes from TikTok, not the caller)."""

    id: WholeNumber | StrictStr
    status: Scalar = None
    user_id: Scalar = None
    buyer_email: Scalar = None
    create_time: Annotated[int, BeforeValidator(_unix_time)]
    update_time: Annotated[int, BeforeValidator(_unix_time)] | None = None
    line_items: list[_Line] = Field(default_factory=list)
    payment: _Payment | None = None
    recipient_address: _Recipient | None = None


class OrderNotVisible(UpstreamError):
    """TikTok Shop's API does not return the order a notification named (yet): ask again later."""


class UnreadableOrder(UpstreamError):
    """TikTok Shop answered with an order OrderTrail cannot read (a missing create time, unreadable money, ...)."""


class TikTokShopCredentials(BaseModel):
    """One shop's TikTok Shop Open API credentials (from the tenant's configuration)."""

    model_config = ConfigDict(extra="ignore")

    app_key: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    access_token: str = Field(min_length=1)
    shop_cipher: str = Field(min_length=1)


class TikTokShopApiError(UpstreamError):
    """TikTok Shop answered with a non-zero code; carries the code, message and request id."""

    def __init__(self, code: int | str, message: str, request_id: str | None = None) -> None:
        super().__init__(f"TikTok Shop API error {code}: {message}" + (f" (request_id {request_id})" if request_id else ""))
        self.code = code
        self.message = message
        self.request_id = request_id

    # The codes that mean the access token itself was refused (expired or invalid): refresh it and ask again
    # (docs/decisions/2026-12-02-tiktok-shop-oauth.md).
    TOKEN_REJECTED_CODES: ClassVar[frozenset[int]] = frozenset({105001, 105002})

    @property
    def token_rejected(self) -> bool:
        """Whether TikTok refused the access token (expired or invalid), so a refreshed token may succeed."""
        return isinstance(self.code, int) and not isinstance(self.code, bool) and self.code in self.TOKEN_REJECTED_CODES


def parse_notification(payload: dict[str, Any]) -> TikTokNotification:
    """Validate a webhook body as a TikTok Shop notification (raises pydantic.ValidationError)."""
    return TikTokNotification.model_validate(payload)


def order_status_change(notification: TikTokNotification) -> OrderStatusChange | None:
    """Return the order status change a type-1 notification carries, or None for other types (acknowledge and ignore)."""
    if notification.type != ORDER_STATUS_CHANGE:
        return None
    return OrderStatusChange.model_validate(notification.data)


class TikTokShopClient:
    """Minimal TikTok Shop Open API client: full orders by id (GET /order/{version}/orders) and by creation time (orders/search)."""

    def __init__(
        self,
        base_url: str,
        credentials: TikTokShopCredentials,
        session: requests.Session | None = None,
        timeout: float = 4.0,
        clock: Callable[[], float] = time.time,
        api_version: str = DEFAULT_API_VERSION,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        if session is None:
            # Here, not at the top: requests costs every handler importing this module ~40 ms, and only a client needs it.
            import requests

            session = requests.Session()
        self.session = session
        self.timeout = timeout
        self.clock = clock
        self.path = f"/order/{api_version}/orders"
        self.search_path = f"/order/{api_version}/orders/search"

    def fetch_orders(self, order_ids: list[str]) -> list[dict[str, Any]]:
        """Fetch the raw orders for these ids, 50 ids per request; raise UpstreamError on any failure."""
        ids = list(dict.fromkeys(i for i in order_ids if i))
        orders: list[dict[str, Any]] = []
        for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
            orders.extend(self._fetch_chunk(ids[start : start + MAX_IDS_PER_REQUEST]))
        return orders

    def _fetch_chunk(self, ids: list[str]) -> list[dict[str, Any]]:
        """One signed Get Order Detail request for at most 50 ids."""
        data = self._call("GET", self.path, {"ids": ",".join(ids)})
        orders = data.get("orders")
        return [order for order in orders or [] if isinstance(order, dict)]

    def search_orders(
        self, created_from: datetime, created_to: datetime, page_token: str | None, page_size: int = MAX_PAGE_SIZE
    ) -> OrderPage:
        """One page of Get Order List (POST /order/{version}/orders/search): orders created in [created_from, created_to), oldest first."""
        query = {"page_size": str(min(page_size, MAX_PAGE_SIZE)), "sort_field": "create_time", "sort_order": "ASC"}
        if page_token:
            query["page_token"] = page_token
        body = {"create_time_ge": int(created_from.timestamp()), "create_time_lt": int(created_to.timestamp())}
        data = self._call("POST", self.search_path, query, json.dumps(body, separators=(",", ":")).encode("utf-8"))
        orders = [order for order in data.get("orders") or [] if isinstance(order, dict)]
        return OrderPage(orders=orders, next_page_token=str(data.get("next_page_token") or "") or None)

    def _call(self, method: str, path: str, params: dict[str, str], body: bytes = b"") -> dict[str, Any]:
        """One signed Open API request: the envelope's `data`; TikTokShopApiError on an error code, UpstreamError on anything else."""
        creds = self.credentials
        query = {"app_key": creds.app_key, "timestamp": str(int(self.clock())), "shop_cipher": creds.shop_cipher, **params}
        query["sign"] = tiktok_api_sign(creds.app_secret, path, query, body)
        headers = {"x-tts-access-token": creds.access_token, "content-type": "application/json"}
        import requests  # loaded with the session; for its exception types

        try:
            response = self.session.request(
                method, self.base_url + path, params=query, data=body or None, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise UpstreamError(f"TikTok Shop API unreachable: {type(exc).__name__}") from exc
        try:
            envelope = response.json()
        except (ValueError, json.JSONDecodeError):
            raise UpstreamError(f"TikTok Shop API returned HTTP {response.status_code} with a non-JSON body") from None
        if not isinstance(envelope, dict):
            raise UpstreamError(f"TikTok Shop API returned HTTP {response.status_code} with an unexpected body")
        code, message, request_id = envelope.get("code"), str(envelope.get("message") or ""), envelope.get("request_id")
        if response.status_code >= 400 or code != 0:
            raise TikTokShopApiError(
                code if code is not None else f"HTTP {response.status_code}", message or response.reason or "", request_id
            )
        data = envelope.get("data") or {}
        return data if isinstance(data, dict) else {}


def _time(value: Any) -> datetime | None:
    """UTC datetime from Unix seconds (int or numeric string)."""
    if value is None or str(value).strip() in ("", "0"):
        return None
    return datetime.fromtimestamp(int(value), UTC)


_STATE_LEVELS = frozenset({"state", "province", "region", "prefecture"})
_CITY_LEVELS = frozenset({"city", "town", "municipality"})


def _address(raw: dict[str, Any] | None) -> Address | None:
    """Map recipient_address to Address; state/city come from district_info by level name when present."""
    if not raw:
        return None
    region = city = None
    for district in raw.get("district_info") or []:
        level = str(district.get("address_level_name") or "").strip().lower()
        if level in _STATE_LEVELS and region is None:
            region = text(district.get("address_name"))
        elif level in _CITY_LEVELS and city is None:
            city = text(district.get("address_name"))
    extra = [text(raw.get(key)) for key in ("address_line2", "address_line3", "address_line4")]
    line2 = ", ".join(part for part in extra if part) or None
    country = text(raw.get("region_code"))
    return fitting(
        Address,
        {
            "name": text(raw.get("name")),
            "line1": text(raw.get("address_line1")),
            "line2": line2,
            "city": city,
            "region": region,
            "postal_code": text(raw.get("postal_code")),
            "country": country.upper() if country else None,
        },
    )


def _list_price(item: dict[str, Any]) -> Decimal:
    """A line's price before discounts (`original_price`), so the lines add up to `original_total_product_price`.

    The order's subtotal is goods before discounts (docs/api.md#order) and its discounts are subtracted once, at the order; the
    line's `sale_price` is already after the seller's and the platform's discounts, so summing it would subtract them
    twice. Without `original_price`, the sale price plus the line's own discounts is the same figure.
    """
    if text(item.get("original_price")) is not None:
        return money(item.get("original_price"))
    return money(item.get("sale_price")) + money(item.get("seller_discount")) + money(item.get("platform_discount"))


def normalise_order(raw: dict[str, Any]) -> Order:
    """Turn a Get Order Detail order into an Order: one unit per TikTok line item, masked buyer data kept as-is.

    An order OrderTrail cannot read is TikTok's problem, not the webhook sender's: UnreadableOrder (an UpstreamError).
    """
    try:
        TikTokOrderPayload.model_validate(raw)
        return check_storable(_normalise(raw))
    except (ValidationError, ValueError, OverflowError, OSError) as exc:
        order_id = raw.get("id") if isinstance(raw, dict) else None
        raise UnreadableOrder(f"TikTok Shop order {order_id!r} cannot be read: {_first_problem(exc)}") from exc


def _first_problem(exc: Exception) -> str:
    """The first validation problem (field and message), or the error itself."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        return f"{'.'.join(str(part) for part in first['loc']) or 'order'}: {first['msg']}"
    return str(exc)


def _normalise(raw: dict[str, Any]) -> Order:
    """The order once its shape is known to be right."""
    payment = raw.get("payment") or {}
    items = raw.get("line_items") or []
    line_items = [
        LineItem(
            sku=text(item.get("seller_sku")) or text(item.get("sku_id")),
            product_id=text(item.get("product_id")),
            name=text(item.get("product_name")),
            quantity=1,
            unit_price=_list_price(item),
        )
        for item in items
    ]
    currency = text(payment.get("currency")) or next((text(i.get("currency")) for i in items if text(i.get("currency"))), None) or "USD"
    created_at = _time(raw.get("create_time"))
    if created_at is None:
        raise ValueError("create_time: TikTok Shop order has no create time")
    recipient = raw.get("recipient_address") or {}
    return Order(
        id=str(raw["id"]),
        source="tiktok_shop",
        status=str(raw.get("status") or "unknown"),
        created_at=created_at,
        updated_at=_time(raw.get("update_time")) or created_at,
        buyer=fitting(
            Buyer,
            {"user_id": text(raw.get("user_id")), "email": text(raw.get("buyer_email")), "phone": text(recipient.get("phone_number"))},
        ),
        currency=currency.upper(),
        line_items=line_items,
        # The subtotal (docs/api.md#order) is goods before discounts (total = subtotal + tax + shipping − discounts); TikTok's
        # sub_total is after them, original_total_product_price before.
        subtotal=money(payment.get("original_total_product_price"))
        if payment.get("original_total_product_price") is not None
        else money(payment.get("sub_total")) + money(payment.get("seller_discount")) + money(payment.get("platform_discount")),
        tax=money(payment.get("tax")),
        shipping=money(payment.get("shipping_fee")),
        discounts=money(payment.get("seller_discount")) + money(payment.get("platform_discount")),
        total=money(payment.get("total_amount")),
        shipping_address=_address(recipient),
    )
