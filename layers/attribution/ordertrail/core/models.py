"""Domain types shared by every function: orders, touchpoints, attributions and their evidence (Decimal money)."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

# The largest amount one order, line or figure may carry, in its currency: more is a bug or an attack, not a sale.
MAX_AMOUNT = Decimal(10) ** 12
# Money is never negative: a refund is an order status, not a negative price (negative money would turn sums upside down).
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, decimal_places=4, max_digits=18)]
OrderSource = Literal["tiktok_shop", "shopify", "other"]
TouchpointKind = Literal["comment", "dm", "flow_step", "shop_link", "ad_click", "creator_click"]
Method = Literal["coupon", "conversation", "ad_click", "creator_link", "conversation_soft", "organic"]
RuleName = Literal["coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft"]
ReviewStatus = Literal["pending", "confirmed", "rejected"]

# One order is one DynamoDB item (400 KB at most): at most 250 lines, and at most MAX_ORDER_BYTES stored in all.
MAX_LINE_ITEMS = 250
MAX_ORDER_BYTES = 300_000
# Click ids and cart tokens are printable ASCII (they name DynamoDB keys, whose size is counted in bytes).
TOKEN = r"^[\x21-\x7e]+$"
# An id that can be read back in a URL: no control characters (NUL, newlines, DEL).
ADDRESSABLE = r"^[^\x00-\x1f\x7f]+$"
# A keyword names counter items (keys of at most 1,024 bytes) and is compared case-folded: 100 characters is plenty.
MAX_KEYWORD_LENGTH = 100

DEFAULT_PRIORITY: tuple[RuleName, ...] = ("coupon", "conversation_hard", "ad_click", "creator_link", "conversation_soft")
CANCELLED_STATUSES = frozenset({"cancelled", "cancel", "canceled"})


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _plausible(ts: datetime) -> datetime:
    """Refuse times that cannot be windowed: windows, settle periods and TTLs are added to them in UTC."""
    try:
        in_utc = ts.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"the time must be between {EARLIEST.year} and {LATEST.year}")
    return ts


# RFC 3339 date-time with an offset (docs/api.md#order); pydantic alone would also read numbers and digit strings as Unix times.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    """Accept a time only as RFC 3339 text with an offset (or a datetime built in code): `0` is not 1970."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.match(value.strip()):
        return value.strip()
    raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-11-30T18:05:00Z")


# A sender's time: RFC 3339 text with an offset, in a range where adding windows and TTLs cannot overflow.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_plausible)]


def _ip_address(value: str) -> str:
    """Refuse anything but an IPv4 or IPv6 address (it is sent to TikTok as the buyer's ip)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


IpAddress = Annotated[str, Field(max_length=64), AfterValidator(_ip_address)]


def is_masked(value: str | None) -> bool:
    """Tell whether a platform masked this value with `*` (such values never match anything)."""
    return value is not None and "*" in value


def utc(ts: datetime) -> datetime:
    """Return an aware datetime converted to UTC."""
    return ts.astimezone(UTC)


class _Model(BaseModel):
    """Base for payload models: unknown fields are ignored, strings are stripped."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=False)


class Buyer(_Model):
    """Who bought or touched: the platform user id plus optional contact identifiers."""

    user_id: str | None = Field(default=None, max_length=200)
    customer_id: str | None = Field(default=None, max_length=200, description="The store's own customer id (stable per customer)")
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)

    @property
    def matchable_user_id(self) -> str | None:
        """The user id when it can be used for matching (present and not masked)."""
        return self.user_id if self.user_id and not is_masked(self.user_id) else None


class LineItem(_Model):
    """One ordered product line; TikTok Shop lines are one unit each.

    `unit_price` is the price before order discounts, so that the lines add up to the order's `subtotal`.
    """

    sku: str | None = Field(default=None, max_length=200)
    variant_id: str | None = Field(default=None, max_length=200, description="The store's variant id (Shopify), when it has one")
    product_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    quantity: int = Field(default=1, ge=1, le=100_000)
    unit_price: Money = Decimal("0")

    @property
    def catalog_id(self) -> str | None:
        """The id a product catalog knows this line by: the SKU, else the variant, else the product."""
        return self.sku or self.variant_id or self.product_id


class Landing(_Model):
    """Link and cart data the store carried into the order (ttclid, creator link, tracking token)."""

    url: str | None = Field(default=None, max_length=4000)
    ttclid: str | None = Field(default=None, max_length=500, pattern=TOKEN)
    creator: str | None = Field(default=None, max_length=200)
    link_id: str | None = Field(default=None, max_length=200)
    token: str | None = Field(default=None, max_length=500, pattern=TOKEN)
    utm_source: str | None = Field(default=None, max_length=500)
    utm_campaign: str | None = Field(default=None, max_length=500)
    ref: str | None = Field(default=None, max_length=500)


class Client(_Model):
    """The buyer's browser at checkout, as the store saw it (sent to TikTok's Events API to match the buyer)."""

    ip: IpAddress | None = None
    user_agent: str | None = Field(default=None, max_length=1000)


class Address(_Model):
    """A shipping address as the store sent it (possibly masked)."""

    name: str | None = Field(default=None, max_length=300)
    line1: str | None = Field(default=None, max_length=500)
    line2: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=2)


class Order(_Model):
    """A normalised order from any store, in its latest known state."""

    # Read back as a path segment (GET /orders/{id}): control characters could never be sent there.
    id: str = Field(min_length=1, max_length=200, pattern=ADDRESSABLE)
    source: OrderSource = "other"
    status: str = Field(min_length=1, max_length=64)
    updated_at: Timestamp
    created_at: Timestamp
    buyer: Buyer = Field(default_factory=Buyer)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    line_items: list[LineItem] = Field(default_factory=list, max_length=MAX_LINE_ITEMS)
    subtotal: Money = Decimal("0")
    tax: Money = Decimal("0")
    shipping: Money = Decimal("0")
    discounts: Money = Decimal("0")
    credits: Money = Decimal("0")
    total: Money = Decimal("0")
    coupon_codes: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    landing: Landing = Field(default_factory=Landing)
    client: Client | None = Field(default=None, description="The buyer's browser at checkout (ip, user agent)")
    shipping_address: Address | None = None
    connector_copy_of: str | None = Field(
        default=None, max_length=200, description="TikTok Shop order id when this is a connector app's copy"
    )

    @field_validator("status")
    @classmethod
    def _normalise_status(cls, value: str) -> str:
        """Store statuses lower-case with `_`; TikTok's CANCEL and CANCELLED both mean cancelled."""
        status = value.strip().lower().replace(" ", "_")
        return "cancelled" if status in CANCELLED_STATUSES else status

    @field_validator("coupon_codes")
    @classmethod
    def _normalise_codes(cls, codes: list[str]) -> list[str]:
        """Coupon codes compare case-insensitively, so keep them upper-case and unique."""
        return list(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))

    @property
    def is_cancelled(self) -> bool:
        """Tell whether the order is cancelled (it then leaves the metrics)."""
        return self.status == "cancelled"

    @property
    def ordered_at(self) -> datetime:
        """The checkout time the attribution windows are measured against, in UTC."""
        return utc(self.created_at)


def check_storable(order: Order) -> Order:
    """The order if it fits one DynamoDB item with room for what is stored beside it; ValueError naming its size if not.

    Every field has its own bound, but 250 lines of the longest SKUs and names in 4-byte characters would still make
    more than an item holds (DynamoDB counts UTF-8 bytes, up to 400 KB).
    """
    stored = len(order.model_dump_json(exclude_none=True).encode("utf-8"))
    if stored > MAX_ORDER_BYTES:
        raise ValueError(f"the order takes {stored:,} bytes stored; at most {MAX_ORDER_BYTES:,} fit (fewer or shorter lines)")
    return order


class Post(_Model):
    """The video/post a comment was left on."""

    id: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=4000)


class Flow(_Model):
    """A DM automation flow."""

    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=300)


class Campaign(_Model):
    """An ad or creator campaign reference."""

    id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=300)


class _TouchpointBase(_Model):
    """Fields every touchpoint carries."""

    id: str = Field(min_length=1, max_length=200)
    occurred_at: Timestamp
    buyer: Buyer = Field(default_factory=Buyer)
    received_at: AwareDatetime | None = Field(default=None, description="Set by OrderTrail on arrival")

    @cached_property
    def at(self) -> datetime:
        """When it happened, in UTC (cached: the engine compares it many times per order)."""
        return utc(self.occurred_at)


class CommentTouchpoint(_TouchpointBase):
    """A comment on a post that fired a trigger."""

    kind: Literal["comment"]
    post: Post
    text: str | None = Field(default=None, max_length=5000)
    keywords: list[Annotated[str, Field(max_length=MAX_KEYWORD_LENGTH)]] = Field(default_factory=list, max_length=50)


class DmTouchpoint(_TouchpointBase):
    """A DM conversation started by a comment."""

    kind: Literal["dm"]
    conversation_id: str = Field(min_length=1, max_length=200)
    comment_id: str | None = Field(default=None, max_length=200)
    flow: Flow | None = None


class FlowStepTouchpoint(_TouchpointBase):
    """The buyer reached step N of a flow in a conversation."""

    kind: Literal["flow_step"]
    conversation_id: str = Field(min_length=1, max_length=200)
    flow: Flow
    step: int = Field(ge=1, le=1000)
    step_name: str | None = Field(default=None, max_length=300)


class ShopLinkTouchpoint(_TouchpointBase):
    """A shop link sent in a conversation; it opens the conversation's attribution window."""

    kind: Literal["shop_link"]
    conversation_id: str = Field(min_length=1, max_length=200)
    skus: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=500)
    # Validated even when absent, so that a link naming nothing is refused on this field.
    product_ids: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=500, validate_default=True)
    url: str | None = Field(default=None, max_length=4000)

    @field_validator("product_ids")
    @classmethod
    def _links_something(cls, product_ids: list[str], info: ValidationInfo) -> list[str]:
        """A shop link must name at least one SKU or product."""
        if not product_ids and not info.data.get("skus"):
            raise ValueError("a shop_link needs skus and/or product_ids")
        return product_ids


class AdClickTouchpoint(_TouchpointBase):
    """A landing from a TikTok ad, identified by its ttclid."""

    kind: Literal["ad_click"]
    ttclid: str = Field(min_length=1, max_length=500, pattern=TOKEN)
    url: str | None = Field(default=None, max_length=4000)
    ip: IpAddress | None = None
    user_agent: str | None = Field(default=None, max_length=1000)
    campaign: Campaign | None = None


class CreatorClickTouchpoint(_TouchpointBase):
    """A click on a creator's link, with the cart/tracking token the store carries into the order."""

    kind: Literal["creator_click"]
    creator: str = Field(min_length=1, max_length=200)
    link_id: str | None = Field(default=None, max_length=200)
    campaign: str | None = Field(default=None, max_length=300)
    token: str | None = Field(default=None, max_length=500, pattern=TOKEN)


Touchpoint = Annotated[
    CommentTouchpoint | DmTouchpoint | FlowStepTouchpoint | ShopLinkTouchpoint | AdClickTouchpoint | CreatorClickTouchpoint,
    Field(discriminator="kind"),
]


class CouponMapping(_Model):
    """A coupon code mapped to the creator and link it belongs to."""

    code: str = Field(min_length=1, max_length=100)
    creator: str = Field(min_length=1, max_length=200)
    link_id: str | None = Field(default=None, max_length=200)

    @field_validator("code")
    @classmethod
    def _upper(cls, code: str) -> str:
        """Codes compare case-insensitively."""
        return code.upper()


class Conversation(_Model):
    """What a DM conversation is tied to: its comment, post, keywords and flow (denormalised for one read)."""

    conversation_id: str
    comment_id: str | None = None
    comment_text: str | None = None
    comment_at: AwareDatetime | None = None
    post: Post | None = None
    keywords: list[str] = Field(default_factory=list)
    flow: Flow | None = None
    started_at: AwareDatetime | None = None

    @classmethod
    def started_by(cls, dm: DmTouchpoint) -> Conversation:
        """The conversation a DM starts, before its comment is known."""
        return cls(conversation_id=dm.conversation_id, comment_id=dm.comment_id, flow=dm.flow, started_at=dm.occurred_at)

    def with_comment(self, comment: CommentTouchpoint) -> Conversation:
        """The conversation tied to its comment: the comment's text, time, post and keywords."""
        return self.model_copy(
            update={"comment_text": comment.text, "comment_at": comment.occurred_at, "post": comment.post, "keywords": comment.keywords}
        )


class CreditClaim(_Model):
    """Which order a shop link already credited (a conversation credits only the first order)."""

    shop_link_id: str
    order_key: str
    ordered_at: AwareDatetime


def _most_recent(ids: list[str]) -> list[str]:
    """The last MAX_EVIDENCE_IDS of a list of touchpoint ids in time order (a buyer with hundreds of links stays one item)."""
    return ids[-MAX_EVIDENCE_IDS:]


# Evidence names at most this many touchpoints per rule (the most recent): enough to explain, bounded in size.
MAX_EVIDENCE_IDS = 20
EvidenceIds = Annotated[list[str], AfterValidator(_most_recent)]


class RuleOutcome(_Model):
    """One rule's verdict for an order: matched or not, and why."""

    rule: RuleName
    matched: bool
    reason: str = Field(description="snake_case: matched, no_user_id, window_expired, no_sku_overlap, ...")
    detail: str
    touchpoint_ids: EvidenceIds = Field(default_factory=list, description="The touchpoints it looked at (the 20 most recent)")


class HistoryNote(_Model):
    """Set on an imported order placed before its store was connected: touchpoints of that time may be missing."""

    import_id: str = Field(description="The history import that brought the order in")
    connected_at: AwareDatetime = Field(description="When the store was connected (orders before it are history)")
    detail: str


class ReattributionStamp(_Model):
    """Set on a decision a re-attribution run produced: which run, under which settings (docs/reattribution.md)."""

    run_id: str = Field(description="The re-attribution run (GET /v1/{tenant}/reattributions/{run_id})")
    settings_digest: str = Field(description="Digest of the settings the run used; the run shows them in full")
    at: AwareDatetime = Field(description="When the run re-attributed the order")


class PreviousDecision(_Model):
    """What an order's attribution was before a re-attribution run changed it (only the last one is kept)."""

    method: Method
    rule: RuleName | None = None
    review_status: ReviewStatus | None = None
    conversation_id: str | None = None
    post_id: str | None = None
    creator: str | None = None
    link_id: str | None = None
    coupon: str | None = None
    ttclid: str | None = None
    attributed_at: AwareDatetime
    run_id: str | None = Field(default=None, description="The re-attribution run that had produced it, if one had")


class Attribution(_Model):
    """The decision for one order and the evidence behind it."""

    order_id: str
    source: OrderSource
    method: Method
    review_status: ReviewStatus | None = None
    rule: RuleName | None = None
    touchpoint_ids: EvidenceIds = Field(default_factory=list)
    conversation_id: str | None = None
    post: Post | None = None
    comment_id: str | None = None
    comment_text: str | None = None
    flow: Flow | None = None
    flow_step: int | None = Field(default=None, description="The deepest flow step the conversation had reached by the order")
    flow_step_name: str | None = None
    keywords: list[str] = Field(default_factory=list)
    creator: str | None = None
    link_id: str | None = None
    coupon: str | None = None
    ttclid: str | None = None
    first_touch_at: AwareDatetime | None = None
    time_to_order_seconds: int | None = None
    claimed_shop_link_id: str | None = None
    evidence: list[RuleOutcome] = Field(default_factory=list)
    ordered_at: AwareDatetime
    attributed_at: AwareDatetime
    cancelled: bool = False
    error: str | None = Field(default=None, description="Why the order could not be attributed (it then counts nowhere new)")
    predates_connection: HistoryNote | None = Field(
        default=None, description="The order came from a history import and was placed before the store was connected"
    )
    revenue: Money = Decimal("0")
    currency: str = "USD"
    reattributed: ReattributionStamp | None = Field(default=None, description="The re-attribution run that produced this decision")
    previous: PreviousDecision | None = Field(default=None, description="The decision before that run changed it")

    @property
    def counts_as_attributed(self) -> bool:
        """Tell whether the order counts toward OrderTrail-driven revenue (soft only once confirmed)."""
        if self.method == "organic" or self.cancelled:
            return False
        return self.method != "conversation_soft" or self.review_status == "confirmed"
