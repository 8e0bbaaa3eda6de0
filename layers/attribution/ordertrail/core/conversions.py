"""Attributed conversions: what the export needs about an order, written beside its attribution (pure, no AWS)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from ordertrail.core.models import AdClickTouchpoint, Attribution, Client, Method, Order, Touchpoint, is_masked
from ordertrail.core.tenant_settings import MAX_EXPORT_LOOKBACK

# ISO-4217 currencies without minor units (credits are rounded in whole units there).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF"}
)


# What one conversion item keeps at most (with every field at its limit it stays under 300 KB; DynamoDB allows 400 KB).
MAX_TOUCHES = 100
MAX_DETAILED = 10
MAX_CONTENT_NAME = 200
# The products an event lists (the order's first lines): TikTok matches the catalog on them, the value is the order's.
MAX_CONTENTS = 50


def minor_units(currency: str) -> int:
    """How many decimal places the currency's minor unit has."""
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


class ConversionTouch(BaseModel):
    """One touch that may share the conversion's credit; `ttclid` set for ad clicks."""

    id: str
    kind: str
    at: AwareDatetime
    arrival: AwareDatetime
    ttclid: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    url: str | None = None

    @property
    def value(self) -> str:
        """The value credit is given to: the ttclid for ad clicks (the export's dimension), else the touch itself."""
        return f"ttclid:{self.ttclid}" if self.ttclid else f"{self.kind}:{self.id}"


class ContentLine(BaseModel):
    """One product line as the Events API wants it."""

    content_id: str
    name: str | None = None
    price: Decimal
    quantity: int


class Conversion(BaseModel):
    """An attributed order, ready for the export: value, products, identifiers and the touches before it."""

    order_id: str
    source: str
    ordered_at: AwareDatetime
    currency: str
    value: Decimal
    method: Method
    counts: bool = Field(description="Counts as attributed (a soft match only once confirmed)")
    contents: list[ContentLine] = Field(default_factory=list)
    user_id: str | None = None
    customer_id: str | None = Field(default=None, description="The store's customer id, for a buyer without a TikTok user id")
    email: str | None = None
    phone: str | None = None
    ip: str | None = Field(default=None, description="The buyer's browser at checkout, as the store saw it")
    user_agent: str | None = None
    landing_url: str | None = Field(default=None, description="Where the buyer landed before ordering, as the store recorded it")
    touches: list[ConversionTouch] = Field(default_factory=list)

    @property
    def external_id(self) -> str | None:
        """Who the buyer is to TikTok (hashed when sent): the TikTok user id, else the store's stable customer id."""
        return self.user_id or self.customer_id

    @property
    def user_key(self) -> str:
        """Who converted, for "only the first conversion per user": the platform user, else the email, else the order."""
        return self.user_id or (f"email:{self.email.lower()}" if self.email else f"order:{self.source}#{self.order_id}")


def kept_touches(touches: Sequence[ConversionTouch], ordered_at: datetime) -> list[ConversionTouch]:
    """The touches a conversion keeps, so that its item stays far below DynamoDB's 400 KB whatever the buyer did.

    Only touches the export can ever credit (28 days before the order), the MAX_TOUCHES most recent of them, and the
    browser details (ip, user agent, landing URL) only on the MAX_DETAILED most recent ad clicks: a buyer with hundreds of
    clicks still converts, the oldest touches just share no credit.
    """
    recent = sorted((t for t in touches if t.at >= ordered_at - MAX_EXPORT_LOOKBACK), key=lambda t: (t.at, t.arrival, t.id))
    recent = recent[-MAX_TOUCHES:]
    detailed = set([index for index, t in enumerate(recent) if t.ttclid][-MAX_DETAILED:])
    bare = {"ip": None, "user_agent": None, "url": None}
    return [t if not t.ttclid or index in detailed else t.model_copy(update=bare) for index, t in enumerate(recent)]


def _usable(value: str | None) -> str | None:
    """Masked identifiers (`*`) are never sent."""
    return value if value and not is_masked(value) else None


def conversion_digest(conversion: Conversion | None) -> str:
    """A short digest of a conversion as it would be stored ("none" for no conversion): a re-run compares it, not the item.

    `counts` is left out: it follows the decision (which is compared itself), and a review flips it on the stored item.
    """
    if conversion is None:
        return "none"
    return hashlib.sha256(conversion.model_dump_json(exclude={"counts"}).encode()).hexdigest()[:16]


def conversion_for(
    order: Order, attribution: Attribution, touchpoints: Sequence[Touchpoint], click: AdClickTouchpoint | None
) -> Conversion | None:
    """The conversion to keep for an attributed, uncancelled order (None for organic or cancelled orders)."""
    if attribution.method == "organic" or order.is_cancelled:
        return None
    touches = [_touch(t) for t in touchpoints if t.at <= order.ordered_at]
    client = order.client or Client()
    ttclid = order.landing.ttclid
    if ttclid and not any(t.ttclid == ttclid for t in touches):
        # The order carries a ttclid: its click (if we saw it) or the landing itself is a touch at checkout.
        touches.append(
            _touch(click)
            if click is not None and click.at <= order.ordered_at
            else ConversionTouch(
                id=f"order-landing:{order.id}",
                kind="ad_click",
                at=order.ordered_at,
                arrival=order.ordered_at,
                ttclid=ttclid,
                ip=client.ip,
                user_agent=client.user_agent,
                url=order.landing.url,
            )
        )
    touches = kept_touches(touches, order.ordered_at)
    # TikTok matches `content_type: product` events to the catalog by SKU; a line with no id at all is left out.
    contents = [
        ContentLine(
            content_id=line.catalog_id, name=(line.name or "")[:MAX_CONTENT_NAME] or None, price=line.unit_price, quantity=line.quantity
        )
        for line in order.line_items
        if line.catalog_id
    ][:MAX_CONTENTS]
    return Conversion(
        order_id=order.id,
        source=order.source,
        ordered_at=order.ordered_at,
        currency=order.currency,
        value=order.total,
        method=attribution.method,
        counts=attribution.counts_as_attributed,
        contents=contents,
        user_id=order.buyer.matchable_user_id,
        customer_id=_usable(order.buyer.customer_id),
        email=_usable(order.buyer.email),
        phone=_usable(order.buyer.phone),
        ip=client.ip,
        user_agent=client.user_agent,
        landing_url=order.landing.url,
        touches=touches,
    )


def _touch(touchpoint: Touchpoint) -> ConversionTouch:
    arrival = touchpoint.received_at or touchpoint.occurred_at
    if isinstance(touchpoint, AdClickTouchpoint):
        return ConversionTouch(
            id=touchpoint.id,
            kind=touchpoint.kind,
            at=touchpoint.at,
            arrival=arrival,
            ttclid=touchpoint.ttclid,
            ip=touchpoint.ip,
            user_agent=touchpoint.user_agent,
            url=touchpoint.url,
        )
    return ConversionTouch(id=touchpoint.id, kind=touchpoint.kind, at=touchpoint.at, arrival=arrival)
