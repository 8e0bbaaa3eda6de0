"""TikTok Shop customers: the days each one bought on, and what that adds to the `customers` counters.

A customer is active on a local day when it has at least one counted TikTok Shop order placed that day (cancelled
orders and connector copies never count). Each active day d of a customer adds to the counter item of day d:

- `active` 1;
- `new` 1 when d is the customer's first active day ever, otherwise `gap#G` 1, G = whole days since the customer's
  previous active day.

The all-time item holds `customers` 1 per customer with any active day, and `repeat` 1 per customer with two or more
active days. From these per-day numbers the unique customers of any range of days can be read back exactly (see
`unique_customers`), without storing one item per customer and range.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from ordertrail.core.models import Address
from ordertrail.tally.counters import ALL_TIME, CounterKey, Tally
from ordertrail.tally.periods import days_between

DIMENSION = "customers"
TIKTOK_SHOP = "tiktok_shop"
GAP_PREFIX = "gap#"
# One customer is one DynamoDB item (400 KB at most): past this many orders a buyer is a reseller, not a shopper, and
# further orders are left out of its activity rather than failing the order's attribution.
MAX_TRACKED_ORDERS = 1000


class CustomerActivity(BaseModel):
    """One TikTok Shop customer: the local days it bought on and the counted orders behind each day."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    name: str | None = None
    address: Address | None = Field(default=None, description="The latest shipping address seen")
    days: dict[str, list[str]] = Field(default_factory=dict, description="Local day → refs (`source#order_id`) of counted orders that day")
    ordered_at: dict[str, datetime] = Field(default_factory=dict, description="Ref → order time of every counted order")
    first_order_at: datetime | None = Field(default=None, description="The earliest counted order's time")

    def with_order(
        self,
        ref: str,
        day: str,
        ordered_at: datetime,
        counted: bool,
        name: str | None = None,
        address: Address | None = None,
    ) -> CustomerActivity:
        """The customer after an order's latest state: counted orders are kept on their day, others are dropped.

        Idempotent: an order already kept on that day at that time changes nothing (a redelivered event is harmless).
        An order that stops counting (cancelled) is removed from whatever day holds it, and a day left without orders
        is removed. A name or address given replaces the one kept (the latest seen wins). A new order past
        MAX_TRACKED_ORDERS changes nothing.
        """
        if counted and ref not in self.ordered_at and len(self.ordered_at) >= MAX_TRACKED_ORDERS:
            return self
        days = {d: [r for r in refs if r != ref] for d, refs in self.days.items()}
        times = {r: t for r, t in self.ordered_at.items() if r != ref}
        if counted:
            days[day] = sorted([*days.get(day, []), ref])
            times[ref] = ordered_at
        days = {d: refs for d, refs in sorted(days.items()) if refs}
        return CustomerActivity(
            user_id=self.user_id,
            name=name or self.name,
            address=address or self.address,
            days=days,
            ordered_at=times,
            first_order_at=min(times.values()) if times else None,
        )

    @property
    def orders(self) -> int:
        """How many counted orders the customer has."""
        return sum(len(refs) for refs in self.days.values())

    @property
    def active_days(self) -> list[str]:
        """The local days with at least one counted order, earliest first."""
        return sorted(day for day, refs in self.days.items() if refs)


def gap_field(gap_days: int) -> str:
    """The counter field counting active days that came `gap_days` days after the previous one."""
    return f"{GAP_PREFIX}{gap_days}"


def customer_contribution(activity: CustomerActivity | None) -> Tally:
    """Everything one customer (in its latest state) adds to the `customers` counters.

    Per active day: `active` 1, plus `new` 1 on the first one or `gap#G` 1 (G days since the previous active day) on
    later ones. All time: `customers` 1, and `repeat` 1 when the customer was active on two or more days.
    """
    tally = Tally()
    days = activity.active_days if activity is not None else []
    previous: date | None = None
    for day in days:
        current = date.fromisoformat(day)
        values: dict[str, Decimal | int] = {"active": 1}
        if previous is None:
            values["new"] = 1
        else:
            values[gap_field((current - previous).days)] = 1
        tally.add(CounterKey(DIMENSION, TIKTOK_SHOP, day), values)
        previous = current
    if days:
        totals: dict[str, Decimal | int] = {"customers": 1}
        if len(days) >= 2:
            totals["repeat"] = 1
        tally.add(CounterKey(DIMENSION, TIKTOK_SHOP, ALL_TIME), totals)
    return tally


def unique_customers(days: Mapping[str, Mapping[str, Decimal]], first: date, last: date) -> int:
    """Unique customers active on any day of [first, last], from the per-day counters (day → fields).

    unique = Σ_{d = first..last} ( new[d] + Σ_{G > d − first} gap#G[d] ).

    Exact, because each customer active in the range is counted once, on its first active day f inside the range:
    f is either its first active day ever (`new`), or its previous active day p is before the range, so its gap
    f − p exceeds f − first. Every later active day d of that customer in the range has its previous active day p'
    inside the range (p' ≥ first), so its gap d − p' is at most d − first and it is not counted again. Customers not
    active in the range contribute nothing to the days summed.
    """
    total = Decimal(0)
    for day in days_between(first, last):
        fields = days.get(day)
        if not fields:
            continue
        offset = (date.fromisoformat(day) - first).days
        total += fields.get("new", Decimal(0))
        for name, value in fields.items():
            if name.startswith(GAP_PREFIX) and int(name[len(GAP_PREFIX) :]) > offset:
                total += value
    return int(total)


def new_customers(days: Mapping[str, Mapping[str, Decimal]], first: date, last: date) -> int:
    """Customers whose first active day ever is in [first, last]: Σ new[d]."""
    return int(sum((days.get(day, {}).get("new", Decimal(0)) for day in days_between(first, last)), Decimal(0)))
