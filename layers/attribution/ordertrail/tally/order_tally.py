"""What one order change does to the report counters: its own contribution, its customer's and its address's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from ordertrail.core import refs
from ordertrail.core.models import Attribution, Order, Touchpoint
from ordertrail.tally import channels, counters, periods
from ordertrail.tally.counters import Counts, Labels
from ordertrail.tally.crossover import AddressProfile, ProfileOrder, crossover_contribution
from ordertrail.tally.customers import CustomerActivity, customer_contribution


@dataclass(frozen=True)
class ReportState:
    """What is stored before a change: the attribution's contribution, the customer's activity, the address profile."""

    contribution: Counts = field(default_factory=dict)
    customer: CustomerActivity | None = None
    address: AddressProfile | None = None


@dataclass(frozen=True)
class OrderTally:
    """The new state to store and the counter changes to apply with it, in one transaction."""

    contribution: Counts
    customer: CustomerActivity | None
    address: AddressProfile | None
    delta: Counts
    labels: Labels
    customer_changed: bool
    address_changed: bool


def tally_order(
    order: Order,
    attribution: Attribution,
    before: ReportState,
    time_zone: str,
    address_key: str | None,
    touchpoints: Sequence[Touchpoint],
    channel_lookback: timedelta,
) -> OrderTally:
    """Recompute what the order contributes now and the difference from what was stored (zero for a redelivery).

    The contribution includes the channel credit of the buyer's touchpoints under every model (ordertrail.tally.channels).

    Fields are differenced one by one: an order whose currency changed takes its amounts out of the old currency's
    fields and puts them into the new one's, and a contribution stored before currencies (bare `revenue`, `net`, ...)
    is taken out of the bare fields and put under the order's currency.
    """
    own = counters.order_contribution(order, attribution, time_zone)
    counted = counters.counts_in_reports(order)
    ref = refs.order_ref(order.source, order.id)
    day = periods.local_day(order.ordered_at, time_zone)
    if counted:
        channels.add_channel_credit(own, order, touchpoints, day, channel_lookback)
    customer = before.customer
    buyer = order.buyer.matchable_user_id
    if order.source == "tiktok_shop" and buyer:
        current = before.customer or CustomerActivity(user_id=buyer)
        customer = current.with_order(ref, day, order.ordered_at, counted, order.buyer.name, order.shipping_address)
    address = before.address
    if address_key:
        current_profile = before.address or AddressProfile(address_hash=address_key)
        net = counters.net_receipts(order)
        entry = ProfileOrder(ref=ref, source=order.source, ordered_at=order.ordered_at, net=net, currency=order.currency, day=day)
        tiktok_id = buyer if order.source == "tiktok_shop" else None
        address = current_profile.with_order(entry, counted, tiktok_id, order.buyer.name)
    was = _merge(before.contribution, customer_contribution(before.customer).counts, crossover_contribution(before.address).counts)
    now = _merge(own.counts, customer_contribution(customer).counts, crossover_contribution(address).counts)
    return OrderTally(
        contribution=own.counts,
        customer=customer,
        address=address,
        delta=counters.difference(now, was),
        labels=own.labels,
        customer_changed=customer != before.customer,
        address_changed=address != before.address,
    )


def tally_review(order: Order, after: Attribution, contribution_before: Counts, time_zone: str) -> tuple[Counts, Counts, Labels]:
    """A person's review changes only the attribution's own contribution: (new contribution, delta, labels).

    The channel credit stays as stored: it depends on the buyer's journey, which a review does not change.
    """
    own = counters.order_contribution(order, after, time_zone)
    kept = channels.channel_part(contribution_before)
    for key, values in kept.items():
        own.add(key, values)
    return own.counts, counters.difference(own.counts, contribution_before), own.labels


def _merge(*parts: Counts) -> Counts:
    """Sum several contributions."""
    total = counters.Tally()
    for part in parts:
        for key, values in part.items():
            total.add(key, values)
    return total.counts
