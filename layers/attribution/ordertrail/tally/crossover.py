"""Crossover: customers TikTok Shop brought who then bought at the seller's other stores, matched on a hashed address.

The write side: one address profile holds the counted orders of every store shipped to one address key (addresses.address_hash).
It is sourced when its first order, by (ordered_at, ref), is a TikTok Shop order, and crossed when a non-TikTok
order follows. What a profile adds to the `crossover` counters is a pure function of the profile, so an order that
arrives late, changes or is cancelled only rewrites the difference (counters.difference) and the counters always
equal what the stored profiles say. Net receipts are kept per currency (`other_net#USD`, ordertrail.money); an entry
stored before currencies has none and keeps adding the bare `other_net` it added then, until its order is seen
again. The report is read in reports/crossover.py. Pure: no AWS here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ordertrail.core import money
from ordertrail.core.models import Order, OrderSource, is_masked
from ordertrail.tally import counters, periods

DIMENSION: Final = "crossover"
IDENT: Final = "all"
TIKTOK: Final = "tiktok_shop"
# Crossed customers are counted by their number of other-store orders, 5 or more pooled in one row.
MAX_OTHER_ORDERS: Final = 5
ADDRESS_KEY_LENGTH: Final = 16
# One profile is one DynamoDB item (400 KB at most): an address with more orders than this is a freight forwarder or
# a business, not one household; further orders are left out rather than failing the order's attribution.
MAX_PROFILE_ORDERS: Final = 1000


class ProfileOrder(BaseModel):
    """One counted order at an address: which store, when, its net receipts (and their currency) and its local day."""

    model_config = ConfigDict(frozen=True)

    ref: str = Field(min_length=3, description="`source#id`, unique across stores; breaks ties between equal times")
    source: OrderSource
    ordered_at: AwareDatetime
    net: Decimal = Field(description="Net receipts (counters.net_receipts)")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="The order's currency (None: stored before currencies)")
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The tenant-local day of ordered_at")

    @model_validator(mode="after")
    def _ref_names_source(self) -> ProfileOrder:
        """The ref starts with the order's store, so refs of two stores never collide."""
        if not self.ref.startswith(f"{self.source}#"):
            raise ValueError(f"ref must be `{self.source}#<order id>`")
        return self

    @property
    def is_tiktok(self) -> bool:
        """Tell whether this is a TikTok Shop order."""
        return self.source == TIKTOK


def profile_order(order: Order, time_zone: str) -> ProfileOrder:
    """The profile entry of a normalised order (whether it counts is counters.counts_in_reports(order))."""
    return ProfileOrder(
        ref=f"{order.source}#{order.id}",
        source=order.source,
        ordered_at=order.ordered_at,
        net=counters.net_receipts(order),
        currency=order.currency,
        day=periods.local_day(order.ordered_at, time_zone),
    )


def _sort_key(order: ProfileOrder) -> tuple[datetime, str]:
    """Orders of a profile run by time, then by ref, so ties resolve the same way whatever the arrival order."""
    return (order.ordered_at, order.ref)


class AddressProfile(BaseModel):
    """Every counted order (not cancelled, not a connector copy) of any store shipped to one hashed address."""

    model_config = ConfigDict(frozen=True)

    address_hash: str = Field(min_length=ADDRESS_KEY_LENGTH)
    tiktok_customer_id: str | None = None
    name: str | None = None
    orders: dict[str, ProfileOrder] = Field(default_factory=dict, description="By ref; counted orders only")

    def with_order(
        self,
        order: ProfileOrder,
        counted: bool,
        tiktok_customer_id: str | None = None,
        name: str | None = None,
    ) -> AddressProfile:
        """A new profile with the order in its latest state: kept (or replaced) when counted, removed when not.

        Adding the same order twice changes nothing. The TikTok customer id is taken from TikTok orders only and a
        known one is replaced only by a new non-empty one; a masked name (`*`) never replaces an unmasked one. A new
        order past MAX_PROFILE_ORDERS changes nothing.
        """
        if counted and order.ref not in self.orders and len(self.orders) >= MAX_PROFILE_ORDERS:
            return self
        orders = dict(self.orders)
        if counted:
            orders[order.ref] = order
        else:
            orders.pop(order.ref, None)
        customer = self.tiktok_customer_id
        if counted and order.is_tiktok and tiktok_customer_id and not is_masked(tiktok_customer_id):
            customer = tiktok_customer_id
        kept_name = self.name
        if counted and name and (kept_name is None or not is_masked(name)):
            kept_name = name
        return AddressProfile(address_hash=self.address_hash, tiktok_customer_id=customer, name=kept_name, orders=orders)

    @property
    def ordered(self) -> list[ProfileOrder]:
        """The orders by (ordered_at, ref)."""
        return sorted(self.orders.values(), key=_sort_key)

    @property
    def first(self) -> ProfileOrder | None:
        """The first order at this address, of any store (None when there is none)."""
        return min(self.orders.values(), key=_sort_key, default=None)

    @property
    def sourced(self) -> bool:
        """Tell whether TikTok Shop brought this customer: the first order is a TikTok Shop order."""
        first = self.first
        return first is not None and first.is_tiktok

    @property
    def other_orders(self) -> list[ProfileOrder]:
        """The non-TikTok orders after the first TikTok order, in order (none unless sourced)."""
        if not self.sourced:
            return []
        return [order for order in self.ordered if not order.is_tiktok]

    @property
    def tiktok_orders(self) -> list[ProfileOrder]:
        """The TikTok Shop orders at this address, in order."""
        return [order for order in self.ordered if order.is_tiktok]

    @property
    def first_other(self) -> ProfileOrder | None:
        """The first non-TikTok order after the first order, when the profile is sourced."""
        others = self.other_orders
        return others[0] if others else None

    @property
    def crossed(self) -> bool:
        """Tell whether a sourced customer went on to buy at another store."""
        return self.first_other is not None


def breakdown_field(other_orders: int) -> str:
    """The ALL-item field counting crossed customers with this many other-store orders (5 or more pooled)."""
    return f"by_other_orders#{min(other_orders, MAX_OTHER_ORDERS)}"


def crossover_contribution(profile: AddressProfile | None) -> counters.Tally:
    """What one address profile adds to the `crossover` counters (nothing unless sourced).

    Day of the first order: `sourced` 1. Day of each other-store order: `other_orders` 1, and in its currency
    `other_orders#CUR` 1 and `other_net#CUR` its net receipts (an entry stored before currencies: bare `other_net`, as
    it added then). Day of the first other-store order: `crossed` 1. The ALL item holds the same sums and, for a
    crossed profile, `by_other_orders#K` 1 with K its number of other-store orders (5 meaning 5 or more).
    """
    tally = counters.Tally()
    first = profile.first if profile is not None else None
    if profile is None or first is None or not first.is_tiktok:
        return tally
    tally.on_days(DIMENSION, IDENT, first.day, {"sourced": 1})
    others = profile.other_orders
    if not others:
        return tally
    tally.on_days(DIMENSION, IDENT, others[0].day, {"crossed": 1})
    for order in others:
        values: dict[str, Decimal | int] = {"other_orders": 1}
        if order.currency is None:
            values["other_net"] = order.net
        else:
            values[money.currency_field("other_orders", order.currency)] = 1
            values[money.currency_field("other_net", order.currency)] = order.net
        tally.on_days(DIMENSION, IDENT, order.day, values)
    tally.add(counters.CounterKey(DIMENSION, IDENT, counters.ALL_TIME), {breakdown_field(len(others)): 1})
    return tally
