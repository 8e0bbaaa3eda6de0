"""Builders for the attribution-engine tests: one buyer, one checkout time, touchpoints placed relative to it.

Every builder takes only what a test cares about; the rest defaults to a plain TikTok Shop order by buyer-1
for SKU-1 at ORDER_AT, and touchpoints by the same buyer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordertrail.core.models import (
    AdClickTouchpoint,
    Attribution,
    Buyer,
    CommentTouchpoint,
    Conversation,
    CouponMapping,
    CreatorClickTouchpoint,
    CreditClaim,
    DmTouchpoint,
    Flow,
    Landing,
    LineItem,
    Order,
    Post,
    RuleName,
    RuleOutcome,
    ShopLinkTouchpoint,
    Touchpoint,
)
from ordertrail.core.rules import Candidates, attribute, order_ref
from ordertrail.core.tenant_settings import AttributionSettings

ORDER_AT = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
NOW = ORDER_AT + timedelta(hours=1)
BUYER_ID = "buyer-1"


def before(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """A moment this long before the checkout."""
    return ORDER_AT - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def after(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """A moment this long after the checkout."""
    return ORDER_AT + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def make_order(
    order_id: str = "o-1",
    *,
    at: datetime = ORDER_AT,
    user_id: str | None = BUYER_ID,
    skus: Iterable[str] = ("SKU-1",),
    product_ids: Iterable[str] = (),
    coupons: Iterable[str] = (),
    status: str = "AWAITING_SHIPMENT",
    total: str = "25.00",
    **landing: str,
) -> Order:
    """An order placed at `at`: one line per SKU and per product id; `landing` sets ttclid/creator/link_id/token."""
    lines = [LineItem(sku=sku, unit_price=Decimal(total)) for sku in skus] + [LineItem(product_id=p) for p in product_ids]
    return Order(
        id=order_id,
        source="tiktok_shop",
        status=status,
        created_at=at,
        updated_at=at,
        buyer=Buyer(user_id=user_id),
        line_items=lines,
        total=Decimal(total),
        coupon_codes=list(coupons),
        landing=Landing(**landing),
    )


def _buyer() -> Buyer:
    return Buyer(user_id=BUYER_ID)


def shop_link(
    link_id: str = "sl-1",
    *,
    at: datetime,
    conversation: str = "conv-1",
    skus: Iterable[str] = ("SKU-1",),
    product_ids: Iterable[str] = (),
    received_at: datetime | None = None,
) -> ShopLinkTouchpoint:
    """A shop link sent to the buyer in `conversation`, linking these SKUs/products."""
    return ShopLinkTouchpoint(
        kind="shop_link",
        id=link_id,
        occurred_at=at,
        received_at=received_at,
        buyer=_buyer(),
        conversation_id=conversation,
        skus=list(skus),
        product_ids=list(product_ids),
    )


def comment(
    comment_id: str = "c-1", *, at: datetime, post: str = "post-1", text: str = "LINK please", keywords: Iterable[str] = ("LINK",)
) -> CommentTouchpoint:
    """The buyer's comment on a post that fired a trigger."""
    return CommentTouchpoint(
        kind="comment", id=comment_id, occurred_at=at, buyer=_buyer(), post=Post(id=post), text=text, keywords=list(keywords)
    )


def dm(
    dm_id: str = "dm-1", *, at: datetime, conversation: str = "conv-1", comment_id: str | None = "c-1", flow: str = "flow-1"
) -> DmTouchpoint:
    """The DM conversation a comment started."""
    return DmTouchpoint(
        kind="dm", id=dm_id, occurred_at=at, buyer=_buyer(), conversation_id=conversation, comment_id=comment_id, flow=Flow(id=flow)
    )


def ad_click(click_id: str = "ad-1", *, at: datetime, ttclid: str = "tt-1") -> AdClickTouchpoint:
    """A landing from a TikTok ad by the buyer."""
    return AdClickTouchpoint(kind="ad_click", id=click_id, occurred_at=at, buyer=_buyer(), ttclid=ttclid)


def creator_click(
    click_id: str = "cc-1", *, at: datetime, creator: str = "@maya", link_id: str = "L-1", token: str | None = None
) -> CreatorClickTouchpoint:
    """A click on a creator's link by the buyer."""
    return CreatorClickTouchpoint(
        kind="creator_click", id=click_id, occurred_at=at, buyer=_buyer(), creator=creator, link_id=link_id, token=token
    )


def coupon_mapping(code: str, creator: str = "@maya", link_id: str = "L-1") -> CouponMapping:
    """A coupon code mapped to a creator link."""
    return CouponMapping(code=code, creator=creator, link_id=link_id)


def claim_by(order: Order, link_id: str = "sl-1") -> CreditClaim:
    """The record that `order` was credited by shop link `link_id`."""
    return CreditClaim(shop_link_id=link_id, order_key=order_ref(order), ordered_at=order.created_at)


def candidates(
    *touchpoints: Touchpoint,
    coupons: Iterable[CouponMapping] = (),
    claims: Iterable[CreditClaim] = (),
    conversations: Iterable[Conversation] = (),
    click: AdClickTouchpoint | None = None,
    token_click: CreatorClickTouchpoint | None = None,
    previous: Attribution | None = None,
) -> Candidates:
    """What the repository would hand the engine for one order, keyed the way the repository keys it."""
    return Candidates(
        touchpoints=list(touchpoints),
        coupons={m.code: m for m in coupons},
        claims={c.shop_link_id: c for c in claims},
        conversations={c.conversation_id: c for c in conversations},
        click=click,
        token_click=token_click,
        previous=previous,
    )


def attribute_order(
    order: Order, found: Candidates | None = None, settings: AttributionSettings | None = None, now: datetime = NOW
) -> Attribution:
    """Run the engine with the tenant defaults unless told otherwise."""
    return attribute(order, found or Candidates(), settings or AttributionSettings(), now)


def evidence_for(attribution: Attribution, rule: RuleName) -> RuleOutcome:
    """The evidence a rule left on the attribution."""
    [outcome] = [e for e in attribution.evidence if e.rule == rule]
    return outcome


def reasons(attribution: Attribution) -> dict[str, str]:
    """Each rule's reason, in the order the evidence lists them."""
    return {e.rule: e.reason for e in attribution.evidence}
