"""Channel credit (ordertrail.tally.channels): every model's credit per channel value equals credit.py on the journey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from ordertrail.core import credit
from ordertrail.core.credit import CREDIT_MODELS, Touch
from ordertrail.core.models import Order, Touchpoint
from ordertrail.tally import channels
from ordertrail.tally.counters import CounterKey, Tally

D = Decimal
ORDERED = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
TOUCHPOINT: TypeAdapter[Any] = TypeAdapter(Touchpoint)


def order(total: str = "30.00", currency: str = "USD", coupons: tuple[str, ...] = ()) -> Order:
    """A paid order of buyer u1 at ORDERED."""
    return Order.model_validate(
        {
            "id": "o1",
            "source": "other",
            "status": "paid",
            "created_at": ORDERED.isoformat(),
            "updated_at": ORDERED.isoformat(),
            "buyer": {"user_id": "u1"},
            "currency": currency,
            "line_items": [{"sku": "S", "quantity": 1, "unit_price": total}],
            "subtotal": total,
            "total": total,
            "coupon_codes": list(coupons),
        }
    )


def touchpoint(kind: str, ident: str, hours_before: float, **fields: Any) -> Any:
    """A touchpoint of buyer u1 this many hours before the order."""
    at = ORDERED - timedelta(hours=hours_before)
    return TOUCHPOINT.validate_python({"id": ident, "kind": kind, "occurred_at": at.isoformat(), "buyer": {"user_id": "u1"}, **fields})


def comment(ident: str, hours_before: float, post: str, keywords: tuple[str, ...] = ()) -> Any:
    """A comment on `post`."""
    return touchpoint("comment", ident, hours_before, post={"id": post, "url": f"https://t.example/{post}"}, keywords=list(keywords))


def test_each_touch_credits_its_dimension_and_the_coupon_is_a_touch_at_the_order() -> None:
    """Given comments, a flow's DM and step, a creator click and two ad clicks (one without a campaign id), when the
    journeys are read, then each dimension holds its own touches, keywords case-folded, coupons at the order's time."""
    touchpoints = [
        comment("c1", 30, "p1", ("LINK", "Glow")),
        touchpoint("dm", "d1", 29, conversation_id="k1", flow={"id": "f1", "name": "Glow flow"}),
        touchpoint("flow_step", "s1", 28, conversation_id="k1", flow={"id": "f1", "name": "Glow flow"}, step=2),
        touchpoint("creator_click", "cc1", 5, creator="maya"),
        touchpoint("ad_click", "a1", 3, ttclid="t1", campaign={"id": "cmp1", "name": "Spring"}),
        touchpoint("ad_click", "a2", 2, ttclid="t2"),
    ]
    found = channels.journeys(order(coupons=("MAYA15",)), touchpoints)
    values = {dimension: [t.value for t in touches] for dimension, touches in found.items()}
    assert values == {
        "post": ["p1"],
        "flow": ["f1", "f1"],
        "keyword": ["link", "glow"],
        "creator": ["maya"],
        "coupon": ["MAYA15"],
        "ad_campaign": ["cmp1", channels.UNKNOWN_CAMPAIGN],
    }
    assert found["coupon"][0].at == ORDERED
    labels = channels.journey_labels(touchpoints)
    assert labels[("post", "p1")] == {"url": "https://t.example/p1"}
    assert labels[("ad_campaign", "cmp1")] == {"name": "Spring"}


def test_every_model_credits_what_credit_py_gives_the_same_journey() -> None:
    """Given three posts commented at different times (one outside the lookback), when the order's channel credit is
    computed, then each model's orders and revenue per post equal credit.credit on the same touches, and the post
    outside the lookback gets nothing."""
    touchpoints = [comment("c0", 24 * 9, "old"), comment("c1", 50, "p1"), comment("c2", 20, "p2"), comment("c3", 1, "p1")]
    the_order = order("30.00")
    touches = channels.journeys(the_order, touchpoints)["post"]
    found = channels.credits(the_order, touches, WEEK)
    assert set(found) == {"p1", "p2"}
    for model in CREDIT_MODELS:
        orders = credit.credit(model, touches, ORDERED, WEEK, D(1), 4)
        revenue = credit.credit(model, touches, ORDERED, WEEK, D("30.00"), 2)
        for post in ("p1", "p2"):
            assert found[post].get(channels.orders_field(model)) == orders.get(post), (model, post)
            if post in orders:
                assert found[post][channels.revenue_field(model, "USD")] == revenue[post], (model, post)
    # first touch: the oldest eligible comment's post; last touch: the newest; participation: each in full
    assert found["p1"][channels.orders_field("first_touch")] == D("1.0000")
    assert channels.orders_field("first_touch") not in found["p2"]
    assert found["p2"][channels.orders_field("participation")] == D("1.0000")


def test_a_zero_decimal_currency_is_apportioned_in_whole_units() -> None:
    """Given an order in JPY touched by two posts, when credited linearly, then the yen split in whole yen adds up."""
    touchpoints = [comment("c1", 3, "p1"), comment("c2", 2, "p2"), comment("c3", 1, "p3")]
    the_order = order("1000", "JPY")
    found = channels.credits(the_order, channels.journeys(the_order, touchpoints)["post"], WEEK)
    shares = [found[p][channels.revenue_field("linear", "JPY")] for p in ("p1", "p2", "p3")]
    assert sum(shares) == D(1000) and all(share == share.to_integral_value() for share in shares)


def test_more_values_than_the_cap_pool_the_rest_and_keep_every_total() -> None:
    """Given a buyer who commented on nine posts, when credited, then the first- and last-touched posts and the most
    touched keep their own credit, the rest is pooled as (other), and every normalised model still adds up to the order."""
    touchpoints = [comment(f"c{n}", 100 - n, f"p{n}") for n in range(9)] + [comment("again", 1.5, "p4"), comment("again2", 1.2, "p4")]
    the_order = order("90.00")
    found = channels.credits(the_order, channels.journeys(the_order, touchpoints)["post"], WEEK)
    assert len(found) == channels.MAX_VALUES_PER_DIMENSION
    assert {"p0", "p8", "p4", channels.OTHER} <= set(found)
    for model in ("first_touch", "last_touch", "linear", "u_shaped", "time_decay"):
        assert sum(v.get(channels.orders_field(model), D(0)) for v in found.values()) == D(1), model
        assert sum(v.get(channels.revenue_field(model, "USD"), D(0)) for v in found.values()) == D("90.00"), model


def test_the_contribution_counts_the_order_once_per_dimension_it_credits() -> None:
    """Given a journey with posts and a coupon, when added to a tally, then the dimension's channel_orders counter counts
    the order and its revenue once, and a dimension with no eligible touch gets nothing."""
    tally = Tally()
    the_order = order("30.00", coupons=("MAYA15",))
    channels.add_channel_credit(tally, the_order, [comment("c1", 2, "p1"), comment("c2", 1, "p2")], "2026-11-18", WEEK)
    scope = {key.id: values for key, values in tally.counts.items() if key.dimension == channels.CHANNEL_ORDERS}
    assert scope == {
        "post": {"orders": D(1), "orders#USD": D(1), "revenue#USD": D("30.00")},
        "coupon": {"orders": D(1), "orders#USD": D(1), "revenue#USD": D("30.00")},
    }
    assert tally.labels[CounterKey("post", "p1", "2026-11-18")] == {"url": "https://t.example/p1"}
    assert channels.channel_part(tally.counts) == tally.counts  # nothing but channel credit here


def test_channel_part_keeps_only_the_credit_fields() -> None:
    """Given a stored contribution with report fields and channel credit on the same counter, when the channel part is
    taken (a review keeps it), then only the credit fields and the channel_orders counters remain."""
    post = CounterKey("post", "p1", "2026-11-18")
    scope = CounterKey(channels.CHANNEL_ORDERS, "post", "2026-11-18")
    counts = {
        post: {"orders": D(1), "credit_linear_orders": D("0.5")},
        scope: {"orders": D(1)},
        CounterKey("method", "organic", "x"): {"orders": D(1)},
    }
    assert channels.channel_part(counts) == {post: {"credit_linear_orders": D("0.5")}, scope: {"orders": D(1)}}


JOURNEY = st.lists(
    st.tuples(st.sampled_from(("p1", "p2", "p3", "p4", "p5", "p6", "p7")), st.floats(min_value=0, max_value=24 * 8)),
    min_size=0,
    max_size=14,
)


@settings(max_examples=200, deadline=None, database=None)
@given(journey=JOURNEY, cents=st.integers(0, 10**7))
def test_normalised_models_always_add_up_to_the_order_and_participation_credits_each_value_in_full(
    journey: list[tuple[str, float]], cents: int
) -> None:
    """Given any journey of up to 14 comments over 7 posts and any total, when credited, then every normalised model's
    orders add up to 1 and its revenue to the total (0 when no touch is eligible), and participation gives every
    credited value the whole order."""
    touchpoints = [comment(f"c{n}", hours, post) for n, (post, hours) in enumerate(journey)]
    total = D(cents).scaleb(-2)
    the_order = order(str(total))
    touches: list[Touch] = channels.journeys(the_order, touchpoints)["post"]
    found = channels.credits(the_order, touches, WEEK)
    eligible = credit.eligible(touches, ORDERED, WEEK)
    assert bool(found) == bool(eligible)
    assert len(found) <= channels.MAX_VALUES_PER_DIMENSION
    for model in ("first_touch", "last_touch", "linear", "u_shaped", "time_decay"):
        orders = sum(v.get(channels.orders_field(model), D(0)) for v in found.values())
        revenue = sum(v.get(channels.revenue_field(model, "USD"), D(0)) for v in found.values())
        assert (orders, revenue) == ((D(1), total) if found else (0, 0)), model
    for fields in found.values():
        assert fields[channels.orders_field("participation")] == D(1)


def attributed(of: Order, **fields: Any) -> Any:
    """A conversation match of the order (the fields say which post, flow, keywords, ...)."""
    from ordertrail.core.models import Attribution

    return Attribution(
        order_id=of.id, source=of.source, method="conversation", rule="conversation_hard", ordered_at=of.ordered_at, attributed_at=ORDERED,
        revenue=of.total, currency=of.currency, **fields,
    )  # fmt: skip


def test_a_review_keeps_the_channel_credit_a_rejection_takes_only_the_attribution_out() -> None:
    """Given a soft match whose buyer commented on two posts, when a person rejects it, then the post's attributed
    figures go, and every channel credit field stays exactly as it was (the journey did not change)."""
    from ordertrail.core.models import Post
    from ordertrail.tally.order_tally import ReportState, tally_order, tally_review

    the_order = order("30.00")
    soft = attributed(the_order, post=Post(id="p1")).model_copy(update={"method": "conversation_soft", "review_status": "pending"})
    stored = tally_order(the_order, soft, ReportState(), "UTC", None, [comment("c1", 2, "p1"), comment("c2", 1, "p2")], WEEK)
    rejected = soft.model_copy(update={"method": "organic", "review_status": "rejected"})
    contribution, delta, _ = tally_review(the_order, rejected, stored.contribution, "UTC")
    assert channels.channel_part(contribution) == channels.channel_part(stored.contribution) != {}
    assert all(not name.startswith("credit_") for values in delta.values() for name in values)
    assert CounterKey("post", "p1", "2026-11-18") in delta  # its soft_pending figures go


def test_the_largest_journey_still_fits_one_transaction() -> None:
    """Given a TikTok order with 40 products, a match naming 15 keywords, and a buyer who touched 20 posts, keywords,
    flows, creators and campaigns and used 10 coupons, when it is tallied, then its counter writes plus the other items
    of the attribution transaction (attribution, conversion, claim, customer, address, released claim) stay within 100."""
    from ordertrail.core.models import Flow, LineItem, Post
    from ordertrail.tally.order_tally import ReportState, tally_order

    lines = [LineItem(product_id=f"P{n}", name=f"product {n}", quantity=1, unit_price=D("1.00")) for n in range(40)]
    codes = [f"CODE{n}" for n in range(10)]
    the_order = order("40.00", coupons=tuple(codes)).model_copy(
        update={"source": "tiktok_shop", "line_items": lines, "subtotal": D("40.00")}
    )
    decision = attributed(
        the_order, post=Post(id="p0"), flow=Flow(id="f0", name="flow"), flow_step=3, keywords=[f"k{n}" for n in range(15)],
        creator="c0", coupon=codes[0], time_to_order_seconds=60,
    )  # fmt: skip
    touchpoints = []
    for n in range(20):
        touchpoints += [
            comment(f"c{n}", 40 - n, f"p{n}", tuple(f"k{n}-{m}" for m in range(20))),
            touchpoint("dm", f"d{n}", 40 - n, conversation_id=f"k{n}", flow={"id": f"f{n}", "name": "flow"}),
            touchpoint("creator_click", f"cc{n}", 40 - n, creator=f"c{n}"),
            touchpoint("ad_click", f"a{n}", 40 - n, ttclid=f"t{n}", campaign={"id": f"cmp{n}"}),
        ]
    tally = tally_order(the_order, decision, ReportState(), "UTC", "a" * 64, touchpoints, WEEK)
    other_items = 6
    assert len(tally.delta) + other_items <= 100, len(tally.delta)
