"""Report counters: what one order or touchpoint adds to each daily counter, and the difference between two states.

A counter is one item per (dimension, id, local day), or per (dimension, id) for all time. Each source item (an
attribution, a customer, an address profile, a touchpoint) knows exactly what it contributes; a change writes only
the difference between what it contributed before and what it contributes now, in the same transaction as the
source item itself, so counters always equal the sum of what is stored.

Money is kept per currency (`revenue#USD`, see ordertrail.money), with a count per currency beside it (`orders#USD`),
so no counter ever adds two currencies; an order whose currency changes moves its amounts from one field to the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ordertrail.core.models import (
    Attribution,
    CommentTouchpoint,
    Conversation,
    CreatorClickTouchpoint,
    DmTouchpoint,
    FlowStepTouchpoint,
    Order,
    Touchpoint,
)
from ordertrail.core.money import currency_field
from ordertrail.tally.periods import local_day
from ordertrail.tally.time_to_order import bucket_field

ALL_TIME = "ALL"
# Only these are reported for all time; the rest are read by day only, so they keep no all-time item (fewer writes).
ALL_TIME_DIMENSIONS = frozenset({"orders", "customers", "crossover"})
HARD_METHODS = frozenset({"coupon", "conversation", "ad_click", "creator_link"})
# Caps keep one order's counter writes inside a single DynamoDB transaction (100 actions); the rest is pooled.
MAX_KEYWORDS_PER_ITEM = 10
MAX_PRODUCTS_PER_ORDER = 25
OTHER_PRODUCTS = "(other products)"


@dataclass(frozen=True, order=True)
class CounterKey:
    """One counter item: a dimension (post, keyword, ...), the id within it, and a local day or ALL_TIME."""

    dimension: str
    id: str
    day: str


Counts = dict[CounterKey, dict[str, Decimal]]
Labels = dict[CounterKey, dict[str, str]]


@dataclass
class Tally:
    """Numbers added to counters, with the labels (post URL, flow name, ...) shown beside them."""

    counts: Counts = field(default_factory=dict)
    labels: Labels = field(default_factory=dict)

    def add(self, key: CounterKey, values: Mapping[str, Decimal | int], labels: Mapping[str, str | None] | None = None) -> None:
        """Add numbers to one counter (and remember its labels)."""
        slot = self.counts.setdefault(key, {})
        for name, value in values.items():
            slot[name] = slot.get(name, Decimal(0)) + Decimal(value)
        kept = {name: text for name, text in (labels or {}).items() if text}
        if kept:
            self.labels.setdefault(key, {}).update(kept)

    def merge(self, other: Tally) -> None:
        """Add another tally's numbers and labels to this one."""
        for key, values in other.counts.items():
            self.add(key, values, other.labels.get(key))

    def on_days(
        self,
        dimension: str,
        ident: str,
        day: str,
        values: Mapping[str, Decimal | int],
        labels: Mapping[str, str | None] | None = None,
    ) -> None:
        """Add numbers to a dimension's counter for one day (and for all time, when the dimension is reported so)."""
        self.add(CounterKey(dimension, ident, day), values, labels)
        if dimension in ALL_TIME_DIMENSIONS:
            self.add(CounterKey(dimension, ident, ALL_TIME), values, labels)


def net_receipts(order: Order) -> Decimal:
    """Goods + tax + customer-paid shipping − coupons and credits (docs/api.md#order: the subtotal is goods before discounts)."""
    return order.subtotal + order.tax + order.shipping - order.discounts - order.credits


def counts_in_reports(order: Order) -> bool:
    """Whether an order enters the figures: cancelled orders and connector copies of TikTok orders never do."""
    return not order.is_cancelled and not order.connector_copy_of


def attribution_class(attribution: Attribution) -> str | None:
    """Which bucket an attribution's order and revenue go to: hard, soft_pending, soft_confirmed, or None (organic)."""
    if attribution.method in HARD_METHODS:
        return "hard"
    if attribution.method == "conversation_soft" and attribution.review_status in ("pending", "confirmed"):
        return f"soft_{attribution.review_status}"
    return None


def class_fields(klass: str, revenue: Decimal, currency: str) -> dict[str, Decimal | int]:
    """Counter fields of one attributed order: `orders`, `orders#CUR`, `revenue#CUR` for hard matches; prefixed for soft."""
    prefix = "" if klass == "hard" else f"{klass}_"
    orders, money = f"{prefix}orders", f"{prefix}revenue"
    return {orders: 1, currency_field(orders, currency): 1, currency_field(money, currency): revenue}


def method_id(attribution: Attribution) -> str:
    """The method as reported: soft matches apart by review status (a rejected one is organic)."""
    if attribution.method == "conversation_soft":
        return f"conversation_soft_{attribution.review_status or 'pending'}"
    return attribution.method


def order_contribution(order: Order, attribution: Attribution | None, time_zone: str) -> Tally:
    """Everything one order (in its latest state, with its attribution) adds to the counters."""
    tally = Tally()
    if not counts_in_reports(order):
        return tally
    day = local_day(order.ordered_at, time_zone)
    net = net_receipts(order)
    units = sum(line.quantity for line in order.line_items)
    cur = order.currency
    values: dict[str, Decimal | int] = {"orders": 1, "units": units, currency_field("orders", cur): 1}
    values.update({currency_field("net", cur): net, currency_field("total", cur): order.total})
    tally.on_days("orders", order.source, day, values)
    if order.source == "tiktok_shop":
        _products(tally, order, day)
    if attribution is not None:
        _attributed(tally, order, attribution, day)
    return tally


def _products(tally: Tally, order: Order, day: str) -> None:
    """Units and sales per product; an order's smallest lines beyond the cap are pooled as other products."""
    lines: dict[str, tuple[int, Decimal, str | None]] = {}
    for line in order.line_items:
        product = line.product_id or line.sku or "(unknown)"
        units, sales, name = lines.get(product, (0, Decimal(0), None))
        lines[product] = (units + line.quantity, sales + line.unit_price * line.quantity, name or line.name)
    ranked = sorted(lines.items(), key=lambda item: (-item[1][1], item[0]))
    for index, (product, (units, sales, name)) in enumerate(ranked):
        ident, label = (product, name) if index < MAX_PRODUCTS_PER_ORDER else (OTHER_PRODUCTS, OTHER_PRODUCTS)
        tally.on_days("product", ident, day, {"units": units, currency_field("sales", order.currency): sales}, {"name": label})


def _attributed(tally: Tally, order: Order, attribution: Attribution, day: str) -> None:
    """The method counter, and for attributed orders the post, flow, keyword, creator, coupon and time-to-order ones.

    Amounts are in the order's currency (an attribution stored before it named one defaults to USD; the order knows).
    """
    revenue, cur = attribution.revenue, order.currency
    method: dict[str, Decimal | int] = {"orders": 1, currency_field("orders", cur): 1, currency_field("revenue", cur): revenue}
    tally.on_days("method", method_id(attribution), day, method)
    klass = attribution_class(attribution)
    if klass is None:
        return
    values = class_fields(klass, revenue, cur)
    attributed: dict[str, Decimal | int] = dict(values)
    driven = attribution.counts_as_attributed
    if driven and attribution.time_to_order_seconds is not None:
        seconds = max(attribution.time_to_order_seconds, 0)
        attributed.update({"tto_orders": 1, "tto_seconds": seconds, bucket_field(seconds): 1})
    tally.on_days("attributed", "all", day, attributed)
    if attribution.post:
        tally.on_days("post", attribution.post.id, day, values, {"url": attribution.post.url})
    if attribution.flow:
        flow_values = dict(values)
        if attribution.flow_step is not None:
            flow_values[f"{'' if klass == 'hard' else klass + '_'}orders_at_step#{attribution.flow_step}"] = 1
        tally.on_days("flow", attribution.flow.id, day, flow_values, {"name": attribution.flow.name})
    for keyword in keyword_ids(attribution.keywords):
        tally.on_days("keyword", keyword, day, values)
    if attribution.creator:
        tally.on_days("creator", attribution.creator, day, values)
    if attribution.coupon:
        tally.on_days("coupon", attribution.coupon, day, values)


def keyword_ids(keywords: Iterable[str]) -> list[str]:
    """Keywords as counted: case-folded, unique, at most MAX_KEYWORDS_PER_ITEM."""
    return list(dict.fromkeys(k.strip().casefold() for k in keywords if k.strip()))[:MAX_KEYWORDS_PER_ITEM]


def touchpoint_contribution(touchpoint: Touchpoint, conversation: Conversation | None, time_zone: str) -> Tally:
    """What a newly stored touchpoint adds: comments and keyword fires, DMs triggered, flow steps reached, creator clicks."""
    tally = Tally()
    day = local_day(touchpoint.at, time_zone)
    if isinstance(touchpoint, CommentTouchpoint):
        tally.on_days("post", touchpoint.post.id, day, {"comments": 1}, {"url": touchpoint.post.url})
        for keyword in keyword_ids(touchpoint.keywords):
            tally.on_days("keyword", keyword, day, {"fires": 1})
    elif isinstance(touchpoint, DmTouchpoint):
        if conversation is not None and conversation.post is not None:
            tally.on_days("post", conversation.post.id, day, {"dms": 1}, {"url": conversation.post.url})
        for keyword in keyword_ids(conversation.keywords if conversation else []):
            tally.on_days("keyword", keyword, day, {"dms": 1})
        if touchpoint.flow is not None:
            tally.on_days("flow", touchpoint.flow.id, day, {"dms": 1}, {"name": touchpoint.flow.name})
    elif isinstance(touchpoint, FlowStepTouchpoint):
        labels = {"name": touchpoint.flow.name, f"step_name#{touchpoint.step}": touchpoint.step_name}
        tally.on_days("flow", touchpoint.flow.id, day, {f"step#{touchpoint.step}": 1}, labels)
    elif isinstance(touchpoint, CreatorClickTouchpoint):
        tally.on_days("creator", touchpoint.creator, day, {"clicks": 1})
    return tally


ENGAGEMENT_KINDS = (CommentTouchpoint, DmTouchpoint, FlowStepTouchpoint, CreatorClickTouchpoint)


def counts_engagement(touchpoint: Touchpoint) -> bool:
    """Tell whether a touchpoint adds to day counters when it arrives (and so is listed on the touchpoint day index)."""
    return isinstance(touchpoint, ENGAGEMENT_KINDS)


def engagement_of(touchpoint: Touchpoint, comment: CommentTouchpoint | None, time_zone: str) -> Tally:
    """All a stored touchpoint has counted, in a zone: a DM with the comment it came from, as its arrival and the comment's did."""
    conversation = None
    if isinstance(touchpoint, DmTouchpoint):
        conversation = Conversation.started_by(touchpoint)
        conversation = conversation.with_comment(comment) if comment is not None else conversation
    return touchpoint_contribution(touchpoint, conversation, time_zone)


def engagement_move(touchpoint: Touchpoint, comment: CommentTouchpoint | None, counted_in: str, time_zone: str) -> Tally:
    """What moving a touchpoint's counts from the days of `counted_in` to those of `time_zone` adds (nothing on the same day)."""
    before = engagement_of(touchpoint, comment, counted_in)
    after = engagement_of(touchpoint, comment, time_zone)
    return Tally(counts=difference(after.counts, before.counts), labels=after.labels)


def late_comment_contribution(dm: DmTouchpoint, bare: Conversation, joined: Conversation, time_zone: str) -> Tally:
    """What a DM counted before its comment adds once the comment arrives: its DM on the post and on each keyword."""
    before = touchpoint_contribution(dm, bare, time_zone)
    after = touchpoint_contribution(dm, joined, time_zone)
    return Tally(counts=difference(after.counts, before.counts), labels=after.labels)


def difference(after: Counts, before: Counts) -> Counts:
    """What a change must add to the stored counters: after − before, per counter and field, without zeros."""
    delta: Counts = {}
    for key in sorted(set(after) | set(before)):
        new, old = after.get(key, {}), before.get(key, {})
        fields = {name: new.get(name, Decimal(0)) - old.get(name, Decimal(0)) for name in set(new) | set(old)}
        kept = {name: value for name, value in sorted(fields.items()) if value != 0}
        if kept:
            delta[key] = kept
    return delta


def dump(counts: Counts) -> str:
    """Counts as compact JSON (exact decimals as strings), to store beside the item that contributed them."""
    rows = [
        [key.dimension, key.id, key.day, {name: str(value) for name, value in sorted(values.items())}]
        for key, values in sorted(counts.items())
    ]
    return json.dumps(rows, separators=(",", ":"))


def load(text: str | None) -> Counts:
    """Counts from dump()'s JSON (nothing for None)."""
    if not text:
        return {}
    return {
        CounterKey(dim, ident, day): {name: Decimal(value) for name, value in values.items()}
        for dim, ident, day, values in json.loads(text)
    }
