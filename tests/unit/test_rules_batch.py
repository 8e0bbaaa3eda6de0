"""The batch rules engine (ordertrail.core.rules_batch) decides every order exactly as rules.attribute does (docs/attribution.md#rules).

A hypothesis property compares every decided field on random orders and candidates; a few given / when / then cases
read like the spec. Unless a case says otherwise: buyer-1's TikTok Shop order for SKU-1 at ORDER_AT, default settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.core import rules_batch
from ordertrail.core.models import (
    DEFAULT_PRIORITY,
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
    FlowStepTouchpoint,
    Landing,
    LineItem,
    Order,
    Post,
    ShopLinkTouchpoint,
)
from ordertrail.core.rules import Candidates, attribute
from ordertrail.core.tenant_settings import AttributionSettings
from tests.unit.attribution_builders import (
    NOW,
    ORDER_AT,
    ad_click,
    before,
    candidates,
    claim_by,
    comment,
    coupon_mapping,
    creator_click,
    dm,
    make_order,
    shop_link,
)

DAY = timedelta(days=1)
US = timedelta(microseconds=1)
IDS = ("t1", "t2", "t3", "t4", "c-1", "sl-1")
CONVERSATIONS = ("conv-1", "conv-2")
CREATORS = ("@maya", "@leo")
LINKS = (None, "", "L-1", "L-2")
SKUS = ("SKU-1", "SKU-2", "SKU-3")
PRODUCTS = ("P-1", "P-2")
CODES = ("MAYA10", "SUMMER", "LEO5")
ME = "tiktok_shop#o-1"
PLUS_TWO = timezone(timedelta(hours=2))


def decide_each(pairs: list[tuple[Order, Candidates]], tenant: AttributionSettings) -> list[rules_batch.Decision]:
    """The batch engine's decisions for these orders, in one call."""
    return rules_batch.decide(rules_batch.from_orders(pairs), tenant).per_order()


def decide_one(order: Order, found: Candidates, tenant: AttributionSettings | None = None) -> rules_batch.Decision:
    """One order's decision by the batch engine."""
    [decision] = decide_each([(order, found)], tenant or AttributionSettings())
    return decision


# --- the property --------------------------------------------------------------------------------------------


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """A time near a window edge (0, 1, 6-8, 13-15, 20 days before the order, or after it), ±1 µs, sometimes not in UTC."""
    days = draw(st.sampled_from([0, 0, 1, 6, 7, 8, 13, 14, 15, 20, -1]))
    nudge = draw(st.sampled_from([0, 0, -1, 1, 3_600_000_000]))
    at = ORDER_AT - days * DAY + nudge * US
    return at.astimezone(PLUS_TWO) if draw(st.booleans()) else at


@st.composite
def touchpoints(draw: st.DrawFn) -> object:
    """A touchpoint of any kind, from small pools so that ids, conversations, creators and times collide."""
    at = draw(moments())
    common = {
        "id": draw(st.sampled_from(IDS)),
        "occurred_at": at,
        "received_at": draw(st.sampled_from([None, at, at + US, at - US])),
        "buyer": Buyer(user_id="buyer-1"),
    }
    # Conversations weigh more: their context (stored, DM, comment) has the most paths.
    kind = draw(st.sampled_from(["comment", "dm", "dm", "flow_step", "shop_link", "shop_link", "shop_link", "ad_click", "creator_click"]))
    conversation = draw(st.sampled_from(CONVERSATIONS))
    if kind == "comment":
        return CommentTouchpoint(kind="comment", post=Post(id="post-1"), text="LINK", keywords=["LINK"], **common)
    if kind == "dm":
        comment_id = draw(st.sampled_from([None, "", "c-1", "t1"]))
        return DmTouchpoint(kind="dm", conversation_id=conversation, comment_id=comment_id, flow=Flow(id="f"), **common)
    if kind == "flow_step":
        return FlowStepTouchpoint(kind="flow_step", conversation_id=conversation, flow=Flow(id="f"), step=draw(st.integers(1, 3)), **common)
    if kind == "shop_link":
        skus = draw(st.lists(st.sampled_from(SKUS), max_size=2))
        products = draw(st.lists(st.sampled_from(PRODUCTS), min_size=0 if skus else 1, max_size=2))
        return ShopLinkTouchpoint(kind="shop_link", conversation_id=conversation, skus=skus, product_ids=products, **common)
    if kind == "ad_click":
        return AdClickTouchpoint(kind="ad_click", ttclid=draw(st.sampled_from(["tt-1", "tt-2"])), **common)
    return CreatorClickTouchpoint(
        kind="creator_click", creator=draw(st.sampled_from(CREATORS)), link_id=draw(st.sampled_from(LINKS)), **common
    )


@st.composite
def orders(draw: st.DrawFn, order_id: str) -> tuple[Order, Candidates]:
    """An order and its candidates: every input rules.attribute reads, drawn independently."""
    touches = draw(st.lists(touchpoints(), max_size=8))
    landing = Landing(
        ttclid=draw(st.sampled_from([None, None, None, None, "tt-1", "tt-9"])),
        creator=draw(st.sampled_from([None, None, None, None, "", "@maya"])),
        link_id=draw(st.sampled_from(LINKS)),
        token=draw(st.sampled_from([None, None, None, "tok-1"])),
    )
    skus = draw(st.lists(st.sampled_from(SKUS), max_size=2))
    lines = [LineItem(sku=s) for s in skus] + [LineItem(product_id=p) for p in draw(st.lists(st.sampled_from(PRODUCTS), max_size=1))]
    order = Order(
        id=order_id,
        source="tiktok_shop",
        status="AWAITING_SHIPMENT",
        created_at=ORDER_AT,
        updated_at=ORDER_AT,
        buyer=Buyer(user_id=draw(st.sampled_from(["buyer-1", "buyer-1", "bu***r", None]))),
        line_items=lines,
        coupon_codes=draw(st.sampled_from([[], [], []]) | st.lists(st.sampled_from(CODES), max_size=2)),
        landing=landing,
    )
    mapped = draw(st.lists(st.sampled_from(CODES), max_size=2, unique=True))
    coupons = {
        code: CouponMapping(code=code, creator=draw(st.sampled_from(CREATORS)), link_id=draw(st.sampled_from(LINKS))) for code in mapped
    }
    stored = {}
    for cid in draw(st.lists(st.sampled_from(CONVERSATIONS), max_size=2, unique=True)):
        maybe_at = st.one_of(st.none(), moments())
        stored[cid] = Conversation(
            conversation_id=cid,
            comment_id=draw(st.sampled_from([None, "", "c-1", "t2"])),
            comment_at=draw(maybe_at),
            started_at=draw(maybe_at),
        )
    claims = {
        f"claim-{k}": CreditClaim(shop_link_id=draw(st.sampled_from(IDS)), order_key=key, ordered_at=draw(moments()))
        for k, key in enumerate(draw(st.lists(st.sampled_from([ME, "tiktok_shop#o-0", "tiktok_shop#o-2", "shopify#o-1"]), max_size=2)))
    }
    click = None
    if draw(st.booleans()):
        click = AdClickTouchpoint(kind="ad_click", id=draw(st.sampled_from(IDS)), occurred_at=draw(moments()), ttclid="tt-1")
    token_click = None
    if draw(st.booleans()):
        token_click = CreatorClickTouchpoint(
            kind="creator_click",
            id=draw(st.sampled_from(IDS)),
            occurred_at=draw(moments()),
            creator=draw(st.sampled_from(CREATORS)),
            link_id=draw(st.sampled_from(LINKS)),
            token="tok-1",
        )
    previous = None
    if draw(st.booleans()):
        previous = Attribution(
            order_id=order_id,
            source="tiktok_shop",
            method="conversation_soft",
            rule=draw(st.sampled_from(["conversation_soft", "conversation_soft", "ad_click"])),
            review_status=draw(st.sampled_from([None, "pending", "confirmed", "rejected", "rejected"])),
            claimed_shop_link_id=draw(st.sampled_from([None, None, "sl-1", "t1", "t3"])),
            conversation_id=draw(st.sampled_from([None, *CONVERSATIONS, *CONVERSATIONS])),
            ordered_at=ORDER_AT,
            attributed_at=NOW,
        )
    return order, Candidates(
        touchpoints=touches, coupons=coupons, conversations=stored, claims=claims, click=click, token_click=token_click, previous=previous
    )


@st.composite
def tenants(draw: st.DrawFn) -> AttributionSettings:
    """Default or custom windows (some equal to the drawn touch ages) and any priority."""
    days = st.sampled_from([1, 6, 7, 13, 14, 20])
    return AttributionSettings(
        conversation_window_days=draw(days),
        click_window_days=draw(days),
        creator_window_days=draw(days),
        priority=draw(st.permutations(list(DEFAULT_PRIORITY))),
    )


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[Order, Candidates]]:
    """1-5 orders decided in one call (each its own buyer's candidates)."""
    return [draw(orders(order_id=f"o-{k % 3}")) for k in range(draw(st.integers(1, 5)))]


@settings(max_examples=400, deadline=None)
@given(pairs=batches(), tenant=tenants())
def test_every_decision_equals_rules_attribute(pairs: list[tuple[Order, Candidates]], tenant: AttributionSettings) -> None:
    """Given random orders and candidates, when the batch engine decides them all at once,
    then each order's decision equals, field by field, the one rules.attribute returns for it alone."""
    expected = [rules_batch.decision_of(attribute(order, found, tenant, NOW)) for order, found in pairs]

    assert decide_each(pairs, tenant) == expected


# --- the spec, case by case -----------------------------------------------------------------------------------


def test_a_mapped_coupon_wins_with_the_creators_first_click() -> None:
    """Given a coupon mapped to @maya and two of her clicks, then the coupon wins and its touch is her first click."""
    found = candidates(
        creator_click("cc-1", at=before(days=20)), creator_click("cc-2", at=before(hours=1)), coupons=[coupon_mapping("MAYA10")]
    )

    decision = decide_one(make_order(coupons=["MAYA10"]), found)

    assert (decision.method, decision.coupon, decision.creator, decision.link_id) == ("coupon", "MAYA10", "@maya", "L-1")
    assert decision.touchpoint_ids == ("cc-1",)
    assert decision.first_touch_at == before(days=20)


def test_a_shop_link_exactly_at_the_window_edge_still_credits() -> None:
    """Given a shop link for SKU-1 sent exactly 14 days before the order, then the conversation wins (windows are inclusive);
    one microsecond earlier it does not."""
    edge = decide_one(make_order(), candidates(shop_link(at=before(days=14))))
    past = decide_one(make_order(), candidates(shop_link(at=before(days=14) - US)))

    assert (edge.method, edge.claimed_shop_link_id, edge.conversation_id) == ("conversation", "sl-1", "conv-1")
    assert past.method == "organic"


def test_the_conversation_is_rebuilt_from_the_buyers_dm_and_comment() -> None:
    """Given no stored conversation but the buyer's comment, DM and a soft shop link, then the match names the comment
    and the link, and its first touch is the comment."""
    found = candidates(
        comment("c-1", at=before(days=3)), dm(at=before(days=2), comment_id="c-1"), shop_link(at=before(days=1), skus=["SKU-9"])
    )

    decision = decide_one(make_order(), found)

    assert (decision.method, decision.review_status) == ("conversation_soft", "pending")
    assert decision.touchpoint_ids == ("c-1", "sl-1")
    assert decision.first_touch_at == before(days=3)


def test_an_earlier_orders_claim_closes_the_link_but_a_later_ones_does_not() -> None:
    """Given the shop link was claimed by an order placed an hour before this one, then this order is organic;
    claimed by an order placed after it, this order takes the credit."""
    earlier = make_order("o-0", at=before(hours=1))
    later = make_order("o-2", at=ORDER_AT + timedelta(hours=1))
    link = shop_link(at=before(days=1))

    closed, taken_over = decide_each(
        [(make_order(), candidates(link, claims=[claim_by(earlier)])), (make_order(), candidates(link, claims=[claim_by(later)]))],
        AttributionSettings(),
    )

    assert closed.method == "organic"
    assert (taken_over.method, taken_over.claimed_shop_link_id) == ("conversation", "sl-1")


def test_a_rejected_soft_match_stays_rejected_on_the_same_link() -> None:
    """Given a person rejected the soft match on sl-1, when the order is decided again, then it is organic, rejected."""
    previous = Attribution(
        order_id="o-1",
        source="tiktok_shop",
        method="organic",
        rule="conversation_soft",
        review_status="rejected",
        conversation_id="conv-1",
        ordered_at=ORDER_AT,
        attributed_at=NOW,
    )
    found = candidates(shop_link(at=before(days=1), skus=["SKU-9"]), previous=previous)

    decision = decide_one(make_order(), found)

    assert (decision.method, decision.rule, decision.review_status) == ("organic", "conversation_soft", "rejected")
    assert (decision.conversation_id, decision.claimed_shop_link_id, decision.touchpoint_ids) == ("conv-1", None, ())


def test_the_ttclid_on_the_order_beats_a_creator_click_and_keeps_its_click() -> None:
    """Given the order carries a ttclid whose click is stored, and a creator click, then ad_click wins with that click."""
    click = ad_click("ad-7", at=before(hours=3), ttclid="tt-7")
    found = candidates(creator_click(at=before(hours=1)), click=click)

    decision = decide_one(make_order(ttclid="tt-7"), found)

    assert (decision.method, decision.ttclid, decision.touchpoint_ids) == ("ad_click", "tt-7", ("ad-7",))
    assert decision.first_touch_at == before(hours=3)


def test_touches_out_of_order_are_put_in_tie_order() -> None:
    """Given two ad clicks at the same time handed over newest-arrival first, then the later arrival wins (the latest)."""
    first = AdClickTouchpoint(kind="ad_click", id="ad-b", occurred_at=before(hours=1), received_at=before(minutes=1), ttclid="tt-b")
    second = AdClickTouchpoint(kind="ad_click", id="ad-a", occurred_at=before(hours=1), received_at=before(minutes=2), ttclid="tt-a")

    decision = decide_one(make_order(), candidates(first, second))

    assert (decision.touchpoint_ids, decision.ttclid) == (("ad-b",), "tt-b")


def test_from_columns_takes_plain_columns() -> None:
    """Given two orders as flat columns (one with a recent creator click, one with none), then the first is
    creator_link and the second organic; method_codes says the same."""
    at = rules_batch.to_us(ORDER_AT)
    batch = rules_batch.from_columns(
        lengths=[1, 0],
        kinds=["creator_click"],
        at_us=[at - 3_600_000_000],
        arrival_us=[at - 3_600_000_000],
        ids=["cc-1"],
        creators=["@maya"],
        link_ids=["L-1"],
        ordered_us=[at, at],
    )

    decided = rules_batch.decide(batch, AttributionSettings())

    assert [d.method for d in decided.per_order()] == ["creator_link", "organic"]
    assert decided.per_order()[0].first_touch_at == before(hours=1)
    assert np.array_equal(decided.method_codes, [3, -1])
