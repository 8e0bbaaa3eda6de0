"""Shopify (other-store orders): webhook header parsing and orders/create|updated normalisation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field, StrictStr

from ordertrail.core.models import Address, Buyer, Client, Landing, LineItem, Order, Timestamp, check_storable
from ordertrail.sources.values import PAYLOAD_CONFIG, Amount, Scalar, WholeNumber, fitting, money, text

ORDER_TOPICS = frozenset({"orders/create", "orders/updated"})

# note_attributes names (normalised: lower-case, spaces/dashes → "_") OrderTrail understands.
_USER_ID_NOTES = ("tiktok_user_id", "tt_user_id")
_TTCLID_NOTES = ("ttclid",)
_CREATOR_NOTES = ("creator", "creator_code")
_LINK_ID_NOTES = ("link_id",)
_TOKEN_NOTES = ("ot_token", "token")
_TIKTOK_ORDER_NOTES = ("tiktok_order_id", "tiktok_shop_order_id", "tts_order_id", "tiktok_order_number", "tiktok_order")
_TIKTOK_ORDER_ID = re.compile(r"(?<!\d)(\d{18,19})(?!\d)")
# A shop's domain as X-Shopify-Shop-Domain carries it (`glowhouse.myshopify.com`): host name characters only.
_SHOP_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


class ShopifyWebhookHeaders(BaseModel):
    """The Shopify webhook headers OrderTrail reads (names matched case-insensitively)."""

    topic: str | None = None
    shop_domain: str | None = None
    webhook_id: str | None = None
    event_id: str | None = None
    triggered_at: str | None = None
    hmac: str | None = None

    @property
    def is_order_topic(self) -> bool:
        """True for orders/create and orders/updated; other topics are acknowledged and ignored."""
        return (self.topic or "").strip().lower() in ORDER_TOPICS


def parse_webhook_headers(headers: Mapping[str, str]) -> ShopifyWebhookHeaders:
    """Read the X-Shopify-* headers from any header mapping, whatever their case."""
    lower = {key.lower(): value for key, value in headers.items()}
    return ShopifyWebhookHeaders(
        topic=lower.get("x-shopify-topic"),
        shop_domain=lower.get("x-shopify-shop-domain"),
        webhook_id=lower.get("x-shopify-webhook-id"),
        event_id=lower.get("x-shopify-event-id"),
        triggered_at=lower.get("x-shopify-triggered-at"),
        hmac=lower.get("x-shopify-hmac-sha256"),
    )


class _Payload(BaseModel):
    """Base of the shape checks below: fields OrderTrail does not read are ignored."""

    model_config = PAYLOAD_CONFIG


class _Note(_Payload):
    name: Scalar = None
    value: Scalar = None


class _Customer(_Payload):
    id: Scalar = None
    email: Scalar = None
    phone: Scalar = None
    first_name: Scalar = None
    last_name: Scalar = None


class _Line(_Payload):
    sku: Scalar = None
    variant_id: Scalar = None
    product_id: Scalar = None
    title: Scalar = None
    name: Scalar = None
    quantity: WholeNumber | None = Field(default=None, ge=0)
    price: Amount = None


class _DiscountCode(_Payload):
    code: Scalar = None


class _Address(_Payload):
    name: Scalar = None
    first_name: Scalar = None
    last_name: Scalar = None
    address1: Scalar = None
    address2: Scalar = None
    city: Scalar = None
    province_code: Scalar = None
    zip: Scalar = None
    country_code: Scalar = None


class _MoneyAmount(_Payload):
    amount: Amount = None


class _MoneySet(_Payload):
    shop_money: _MoneyAmount | None = None


class _ShippingLine(_Payload):
    price: Amount = None


class _ClientDetails(_Payload):
    browser_ip: Scalar = None
    user_agent: Scalar = None


class ShopifyOrderPayload(_Payload):
    """The shape of an orders/create|updated body, as far as OrderTrail reads it: a wrong type is refused naming its field.

    Shopify's documented types: ids are integers, times ISO-8601 with an offset, money decimal strings.
    """

    id: WholeNumber | StrictStr
    created_at: Timestamp
    updated_at: Timestamp | None = None
    cancelled_at: Scalar = None
    financial_status: Scalar = None
    currency: Scalar = None
    email: Scalar = None
    contact_email: Scalar = None
    phone: Scalar = None
    customer: _Customer | None = None
    line_items: list[_Line] = Field(default_factory=list)
    note_attributes: list[_Note] = Field(default_factory=list)
    discount_codes: list[_DiscountCode] = Field(default_factory=list)
    tags: StrictStr | list[Scalar] | None = None
    source_name: Scalar = None
    landing_site: Scalar = None
    landing_site_ref: Scalar = None
    shipping_address: _Address | None = None
    client_details: _ClientDetails | None = None
    total_line_items_price: Amount = None
    subtotal_price: Amount = None
    total_discounts: Amount = None
    total_tax: Amount = None
    total_price: Amount = None
    total_shipping_price_set: _MoneySet | None = None
    shipping_lines: list[_ShippingLine] = Field(default_factory=list)


def _note_name(name: Any) -> str:
    """Normalise a note attribute name: 'TikTok Order ID' → 'tiktok_order_id'."""
    return re.sub(r"[\s\-]+", "_", str(name or "").strip().lower())


def _notes(raw: dict[str, Any]) -> dict[str, str]:
    """note_attributes as {normalised name: value}; the first non-empty value of a name wins."""
    notes: dict[str, str] = {}
    for attribute in raw.get("note_attributes") or []:
        if not isinstance(attribute, dict):
            continue
        name, value = _note_name(attribute.get("name")), text(attribute.get("value"))
        if name and value and name not in notes:
            notes[name] = value
    return notes


def _first(notes: dict[str, str], names: tuple[str, ...]) -> str | None:
    """The first note attribute present among names."""
    return next((notes[name] for name in names if name in notes), None)


def _tags(raw: dict[str, Any]) -> list[str]:
    """Order tags as a list (Shopify sends a comma-separated string)."""
    tags = raw.get("tags") or ""
    items = tags if isinstance(tags, list) else str(tags).split(",")
    return [str(tag).strip() for tag in items if str(tag).strip()]


def connector_copy_of(raw: dict[str, Any]) -> str | None:
    """Return the TikTok Shop order id when this Shopify order is a connector app's copy of a TikTok order.

    Recognised: a note attribute named (case/space/dash-insensitively) tiktok_order_id, "TikTok Order ID",
    tiktok_shop_order_id, tts_order_id, tiktok_order_number or tiktok_order (its 18-19 digit run, else the value);
    or tags that mention "tiktok" (or source_name mentioning tiktok) together with an 18-19 digit id in some tag,
    e.g. tags "TikTok, 576653688135258178" or "TikTokOrderID:576653688135258178".
    """
    value = _first(_notes(raw), _TIKTOK_ORDER_NOTES)
    if value:
        found = _TIKTOK_ORDER_ID.search(value)
        return found.group(1) if found else value
    tags = _tags(raw)
    mentions_tiktok = any("tiktok" in tag.lower() for tag in tags) or "tiktok" in str(raw.get("source_name") or "").lower()
    if mentions_tiktok:
        for tag in tags:
            found = _TIKTOK_ORDER_ID.search(tag)
            if found:
                return found.group(1)
    return None


def landing_url(site: str | None, shop_domain: str | None) -> str | None:
    """`landing_site` as a full URL: a path is joined to the shop's domain; a path without a usable domain stays a path."""
    if not site or urlsplit(site).scheme in ("http", "https"):
        return site
    domain = (shop_domain or "").strip().lower()
    if not _SHOP_DOMAIN.match(domain) or site.startswith("//"):
        return site
    return f"https://{domain}{site if site.startswith('/') else '/' + site}"


def _landing(raw: dict[str, Any], notes: dict[str, str], shop_domain: str | None) -> Landing:
    """Landing data from landing_site (a path or a full URL) with note_attributes as fallback."""
    site = text(raw.get("landing_site"))
    params: dict[str, list[str]] = parse_qs(urlsplit(site).query) if site else {}

    def param(name: str) -> str | None:
        values = [v.strip() for v in params.get(name, []) if v.strip()]
        return values[0] if values else None

    return fitting(
        Landing,
        {
            "url": landing_url(site, shop_domain),
            "ttclid": param("ttclid") or _first(notes, _TTCLID_NOTES),
            "creator": _first(notes, _CREATOR_NOTES),
            "link_id": _first(notes, _LINK_ID_NOTES),
            "token": _first(notes, _TOKEN_NOTES),
            "utm_source": param("utm_source") or notes.get("utm_source"),
            "utm_campaign": param("utm_campaign") or notes.get("utm_campaign"),
            "ref": param("ref") or text(raw.get("landing_site_ref")),
        },
    )


def _shipping(raw: dict[str, Any]) -> Decimal:
    """Shipping total: total_shipping_price_set.shop_money.amount, else the sum of shipping_lines prices."""
    shop_money = ((raw.get("total_shipping_price_set") or {}).get("shop_money") or {}).get("amount")
    if text(shop_money):
        return money(shop_money)
    return sum((money(line.get("price")) for line in raw.get("shipping_lines") or []), Decimal(0))


def _address(raw: dict[str, Any] | None) -> Address | None:
    """Map Shopify's shipping_address to Address."""
    if not raw:
        return None
    country = text(raw.get("country_code"))
    name = text(raw.get("name")) or text(" ".join(filter(None, (text(raw.get("first_name")), text(raw.get("last_name"))))))
    return fitting(
        Address,
        {
            "name": name,
            "line1": text(raw.get("address1")),
            "line2": text(raw.get("address2")),
            "city": text(raw.get("city")),
            "region": text(raw.get("province_code")),
            "postal_code": text(raw.get("zip")),
            "country": country.upper() if country else None,
        },
    )


def _client(raw: dict[str, Any]) -> Client | None:
    """The browser Shopify saw at checkout (`client_details`); an address that is not an IP is left out, not fatal."""
    details = raw.get("client_details")
    if not isinstance(details, dict):
        return None
    client = fitting(Client, {"ip": text(details.get("browser_ip")), "user_agent": text(details.get("user_agent"))})
    return client if client.ip or client.user_agent else None


def normalise_order(raw: dict[str, Any], shop_domain: str | None = None) -> Order:
    """Turn a Shopify orders/create|updated body into an Order (landing data, coupons and connector-copy flag included).

    `shop_domain` (X-Shopify-Shop-Domain) turns a `landing_site` path into the full URL the buyer landed on. Raises
    pydantic.ValidationError naming the field when the body's shape is wrong.
    """
    payload = ShopifyOrderPayload.model_validate(raw)
    notes = _notes(raw)
    customer = raw.get("customer") or {}
    created_at = payload.created_at
    customer_name = " ".join(filter(None, (text(customer.get("first_name")), text(customer.get("last_name")))))
    line_items = [
        LineItem(
            sku=text(item.get("sku")),
            variant_id=text(item.get("variant_id")),
            product_id=text(item.get("product_id")),
            name=text(item.get("title")) or text(item.get("name")),
            quantity=int(item.get("quantity") or 1),
            unit_price=money(item.get("price")),
        )
        for item in raw.get("line_items") or []
    ]
    return check_storable(
        Order(
            id=str(raw["id"]),
            source="shopify",
            status="cancelled" if text(raw.get("cancelled_at")) else (text(raw.get("financial_status")) or "paid"),
            created_at=created_at,
            updated_at=payload.updated_at or created_at,
            buyer=fitting(
                Buyer,
                {
                    "user_id": _first(notes, _USER_ID_NOTES),
                    "customer_id": text(customer.get("id")),
                    "email": text(customer.get("email")) or text(raw.get("email")) or text(raw.get("contact_email")),
                    "phone": text(customer.get("phone")) or text(raw.get("phone")),
                    "name": customer_name or None,
                },
            ),
            currency=(text(raw.get("currency")) or "USD").upper(),
            line_items=line_items,
            # The subtotal (docs/api.md#order) is goods before discounts; Shopify's subtotal_price is after them.
            subtotal=money(raw.get("total_line_items_price"))
            if raw.get("total_line_items_price") is not None
            else money(raw.get("subtotal_price")) + money(raw.get("total_discounts")),
            tax=money(raw.get("total_tax")),
            shipping=_shipping(raw),
            discounts=money(raw.get("total_discounts")),
            total=money(raw.get("total_price")),
            coupon_codes=[code for code in (text(d.get("code")) for d in raw.get("discount_codes") or [] if isinstance(d, dict)) if code],
            landing=_landing(raw, notes, shop_domain),
            client=_client(raw),
            shipping_address=_address(raw.get("shipping_address")),
            connector_copy_of=connector_copy_of(raw),
        )
    )
