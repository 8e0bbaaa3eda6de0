"""Channel credit (docs/reports.md#channels): every credit model over one order's journey, per channel dimension.

Pure, no AWS. At attribution time each order's touches in the export's lookback are credited under all six models of
ordertrail.core.credit, dimension by dimension (the posts a buyer commented on, the flows that DMed them, ...), and the
credits are added to the same daily counters the dimension's report reads, so the channel report costs O(days) like
every report and every model is measured over the same orders and the same lookback. The numbers move by the exact
difference like every counter (ordertrail.tally.counters), so a re-attributed order moves them too.

A journey here is one dimension's touches, each crediting one value:

| dimension     | touches                                                  | value           |
|---------------|----------------------------------------------------------|-----------------|
| `post`        | comments                                                 | the post id     |
| `flow`        | DMs sent by a flow, flow steps reached                   | the flow id     |
| `keyword`     | each keyword a comment fired                             | the keyword     |
| `creator`     | creator-link clicks                                      | the creator     |
| `coupon`      | each coupon code on the order, at the order's time       | the code        |
| `ad_campaign` | ad clicks                                                | the campaign id |

An order credits a dimension only when it has an eligible touch there; the dimension's `channel_orders` counter
counts those orders (and their revenue), the "same orders" every model shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Final, Literal, get_args

from ordertrail.core import credit
from ordertrail.core.conversions import minor_units
from ordertrail.core.credit import CREDIT_MODELS, DEFAULT_HALF_LIFE, Touch
from ordertrail.core.models import (
    AdClickTouchpoint,
    CommentTouchpoint,
    CreatorClickTouchpoint,
    DmTouchpoint,
    FlowStepTouchpoint,
    Order,
    Touchpoint,
)
from ordertrail.core.money import currency_field
from ordertrail.tally.counters import CounterKey, Counts, Tally, keyword_ids

ChannelDimension = Literal["post", "flow", "keyword", "creator", "coupon", "ad_campaign"]
CHANNEL_DIMENSIONS: Final[tuple[ChannelDimension, ...]] = get_args(ChannelDimension)
# Counter dimension of the orders each channel dimension credits (id: the channel dimension).
CHANNEL_ORDERS: Final = "channel_orders"
# At most this many values of one dimension per order keep their own credit; the rest share OTHER's. It bounds one
# order's counter writes inside DynamoDB's 100-action transaction whatever the buyer did.
MAX_VALUES_PER_DIMENSION: Final = 5
OTHER: Final = "(other)"
UNKNOWN_CAMPAIGN: Final = "(no campaign id)"
# Order credit is apportioned in ten-thousandths of an order, so a normalised model's credits add up to whole orders.
ORDER_PLACES: Final = 4
_ONE_ORDER: Final = Decimal(1)
_CREDIT_PREFIX: Final = "credit_"


def orders_field(model: str) -> str:
    """Counter field of the orders credited under a model (`credit_linear_orders`)."""
    return f"{_CREDIT_PREFIX}{model}_orders"


def revenue_field(model: str, currency: str) -> str:
    """Counter field of the revenue credited under a model, in one currency (`credit_linear_revenue#USD`)."""
    return currency_field(f"{_CREDIT_PREFIX}{model}_revenue", currency)


Labels = dict[tuple[str, str], dict[str, str]]


def journeys(order: Order, touchpoints: Iterable[Touchpoint]) -> dict[ChannelDimension, list[Touch]]:
    """Each dimension's touches of the order's buyer (any time; eligibility is the credit engine's), coupons at the order."""
    return _read(order, touchpoints)[0]


def journey_labels(touchpoints: Iterable[Touchpoint]) -> Labels:
    """Labels shown beside a value (a post's URL, a flow's or campaign's name), by (dimension, value)."""
    return _read(None, touchpoints)[1]


def _read(order: Order | None, touchpoints: Iterable[Touchpoint]) -> tuple[dict[ChannelDimension, list[Touch]], Labels]:
    """The journeys (with the order's coupons, when given) and the labels, in one pass over the touchpoints."""
    found: dict[ChannelDimension, list[Touch]] = {dimension: [] for dimension in CHANNEL_DIMENSIONS}
    labels: Labels = {}
    for touchpoint in touchpoints:
        arrival = touchpoint.received_at or touchpoint.occurred_at
        for dimension, ident, value, label in _touches(touchpoint):
            found[dimension].append(Touch(id=ident, at=touchpoint.at, arrival=arrival, value=value))
            if label:
                labels.setdefault((dimension, value), {})["url" if dimension == "post" else "name"] = label
    if order is not None:
        for code in dict.fromkeys(order.coupon_codes):
            found["coupon"].append(Touch(id=f"coupon:{code}", at=order.ordered_at, arrival=order.ordered_at, value=code))
    return found, labels


def _touches(touchpoint: Touchpoint) -> list[tuple[ChannelDimension, str, str, str | None]]:
    """(dimension, touch id, value, label) of every touch one touchpoint makes."""
    if isinstance(touchpoint, CommentTouchpoint):
        post: list[tuple[ChannelDimension, str, str, str | None]] = [("post", touchpoint.id, touchpoint.post.id, touchpoint.post.url)]
        return post + [("keyword", f"{touchpoint.id}#{keyword}", keyword, None) for keyword in keyword_ids(touchpoint.keywords)]
    if isinstance(touchpoint, (DmTouchpoint, FlowStepTouchpoint)) and touchpoint.flow is not None:
        return [("flow", touchpoint.id, touchpoint.flow.id, touchpoint.flow.name)]
    if isinstance(touchpoint, CreatorClickTouchpoint):
        return [("creator", touchpoint.id, touchpoint.creator, None)]
    if isinstance(touchpoint, AdClickTouchpoint):
        campaign = touchpoint.campaign
        ident = (campaign.id if campaign else None) or UNKNOWN_CAMPAIGN
        return [("ad_campaign", touchpoint.id, ident, campaign.name if campaign else None)]
    return []


def capped(touches: Sequence[Touch]) -> list[Touch]:
    """The touches (in tie order) with at most MAX_VALUES_PER_DIMENSION values; the other values' touches credit OTHER.

    The first- and last-touched values keep theirs, then the most touched (the latest touched first, then by value).
    """
    ordered = sorted(touches, key=credit.tie_order)
    values = list(dict.fromkeys(t.value for t in ordered))
    if len(values) <= MAX_VALUES_PER_DIMENSION:
        return ordered
    count: dict[str, int] = {}
    latest: dict[str, int] = {}
    for position, touch in enumerate(ordered):
        count[touch.value] = count.get(touch.value, 0) + 1
        latest[touch.value] = position
    kept = [values[0], ordered[-1].value]
    rest = sorted((v for v in values if v not in kept), key=lambda v: (-count[v], -latest[v], v))
    keep = set(kept + rest[: MAX_VALUES_PER_DIMENSION - 1 - len(set(kept))])
    return [t if t.value in keep else Touch(id=t.id, at=t.at, arrival=t.arrival, value=OTHER) for t in ordered]


def credits(
    order: Order, touches: Sequence[Touch], lookback: timedelta, half_life: timedelta = DEFAULT_HALF_LIFE
) -> dict[str, dict[str, Decimal]]:
    """Per value, the orders and revenue credited under every model (the counter fields), for one dimension's journey.

    Empty when no touch is eligible (`ordered_at − lookback ≤ at ≤ ordered_at`). Revenue is the order's total in its
    currency, apportioned in its minor units; orders in ten-thousandths. Participation credits each value in full.
    """
    eligible = capped(credit.eligible(touches, order.ordered_at, lookback))
    if not eligible:
        return {}
    places = minor_units(order.currency)
    fields: dict[str, dict[str, Decimal]] = {}
    for model in CREDIT_MODELS:
        orders = credit.credit(model, eligible, order.ordered_at, lookback, _ONE_ORDER, ORDER_PLACES, half_life)
        revenue = credit.credit(model, eligible, order.ordered_at, lookback, order.total, places, half_life)
        for value, share in orders.items():
            slot = fields.setdefault(value, {})
            slot[orders_field(model)] = share
            slot[revenue_field(model, order.currency)] = revenue.get(value, Decimal(0))
    return fields


def add_channel_credit(
    tally: Tally, order: Order, touchpoints: Sequence[Touchpoint], day: str, lookback: timedelta, half_life: timedelta = DEFAULT_HALF_LIFE
) -> None:
    """Add one (reported) order's channel credit to the tally: each value's credit, and the dimension's credited order."""
    found_journeys, labels = _read(order, touchpoints)
    for dimension, touches in found_journeys.items():
        found = credits(order, touches, lookback, half_life)
        if not found:
            continue
        scope: dict[str, Decimal | int] = {
            "orders": 1,
            currency_field("orders", order.currency): 1,
            currency_field("revenue", order.currency): order.total,
        }
        tally.add(CounterKey(CHANNEL_ORDERS, dimension, day), scope)
        for value, fields in found.items():
            tally.add(
                CounterKey(dimension, value, day),
                {name: amount for name, amount in fields.items() if amount},
                labels.get((dimension, value)),
            )


def channel_part(counts: Mapping[CounterKey, Mapping[str, Decimal]]) -> Counts:
    """The channel credit inside a stored contribution (it depends on the journey, not on the rules' decision)."""
    part: Counts = {}
    for key, values in counts.items():
        if key.dimension == CHANNEL_ORDERS:
            part[key] = dict(values)
            continue
        kept = {name: value for name, value in values.items() if name.startswith(_CREDIT_PREFIX)}
        if kept:
            part[key] = kept
    return part
