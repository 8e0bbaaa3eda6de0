"""TikTok Shop customers (docs/reports.md#insights): active days, new and gap counters, unique customers over a range.

Each test reads given / when / then; expected counters are worked out by hand in the comments. Days are local days
(yyyy-mm-dd); 2024-03-04 is a Monday.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ordertrail.core.models import Address, Buyer, Order
from ordertrail.core.rules import order_ref
from ordertrail.tally.counters import ALL_TIME, CounterKey, Counts, counts_in_reports, difference
from ordertrail.tally.customers import MAX_TRACKED_ORDERS, CustomerActivity, customer_contribution, new_customers, unique_customers
from ordertrail.tally.periods import local_day

MON, WED, NEXT_MON = "2024-03-04", "2024-03-06", "2024-03-11"


def key(day: str) -> CounterKey:
    return CounterKey("customers", "tiktok_shop", day)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def bought(days: Iterable[str], user_id: str = "u1") -> CustomerActivity:
    """A customer with one counted order on each day given."""
    activity = CustomerActivity(user_id=user_id)
    for index, day in enumerate(days):
        activity = activity.with_order(f"tiktok_shop#{user_id}-{index}", day, at(day), True, None, None)
    return activity


def per_day(counts: Counts) -> dict[str, dict[str, Decimal]]:
    """The day items of the customers dimension, as the report reads them (day → fields)."""
    return {k.day: dict(v) for k, v in counts.items() if k.dimension == "customers" and k.day != ALL_TIME}


def summed(activities: Iterable[CustomerActivity]) -> Counts:
    """The stored counters: every customer's contribution added up."""
    total: Counts = {}
    for activity in activities:
        for k, values in customer_contribution(activity).counts.items():
            slot = total.setdefault(k, {})
            for name, value in values.items():
                slot[name] = slot.get(name, Decimal(0)) + value
    return total


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- one customer's activity --------------------------------------------------------------------------------


def test_a_customer_buying_monday_wednesday_and_next_monday() -> None:
    # given a customer who bought on Mon 4th, Wed 6th and the next Mon 11th
    activity = bought([MON, WED, NEXT_MON])
    # when its counters are worked out
    counts = customer_contribution(activity).counts
    # then Monday is its first day (new); Wednesday came 2 days after Monday; next Monday 5 days after Wednesday;
    # all time it is one customer, and a repeat one (3 active days ≥ 2)
    assert counts == {
        key(MON): {"active": Decimal(1), "new": Decimal(1)},
        key(WED): {"active": Decimal(1), "gap#2": Decimal(1)},
        key(NEXT_MON): {"active": Decimal(1), "gap#5": Decimal(1)},
        key(ALL_TIME): {"customers": Decimal(1), "repeat": Decimal(1)},
    }
    assert activity.orders == 3
    assert activity.first_order_at == at(MON)


def test_unique_customers_of_that_customer_over_ranges() -> None:
    # given the Mon / Wed / next-Mon customer's counters
    days = per_day(customer_contribution(bought([MON, WED, NEXT_MON])).counts)
    # then over Mon 4th..Sun 10th: new on Mon (1); Wed is 2 days in and its gap is 2, not > 2 (0) → 1, and new
    assert (unique_customers(days, d(MON), d("2024-03-10")), new_customers(days, d(MON), d("2024-03-10"))) == (1, 1)
    # over Tue 5th..Mon 11th: Wed is 1 day in with gap 2 > 1 (1); Mon 11th is 6 days in with gap 5 ≤ 6 (0) → 1, repeat
    assert (unique_customers(days, d("2024-03-05"), d(NEXT_MON)), new_customers(days, d("2024-03-05"), d(NEXT_MON))) == (1, 0)
    # over Thu 7th..Mon 11th: Mon 11th is 4 days in with gap 5 > 4 → 1 (it had bought before the range)
    assert unique_customers(days, d("2024-03-07"), d(NEXT_MON)) == 1
    # over Thu 7th..Sun 10th: no active day → 0
    assert unique_customers(days, d("2024-03-07"), d("2024-03-10")) == 0
    # over a single day, unique = active
    assert unique_customers(days, d(WED), d(WED)) == days[WED]["active"] == 1


def test_two_orders_on_one_day_make_one_active_day_and_a_redelivered_order_changes_nothing() -> None:
    # given a customer with two orders on Monday
    activity = CustomerActivity(user_id="u1")
    activity = activity.with_order("tiktok_shop#a", MON, at(MON, 9), True, "Ana", None)
    activity = activity.with_order("tiktok_shop#b", MON, at(MON, 15), True, None, None)
    # when the first order's event arrives again
    again = activity.with_order("tiktok_shop#a", MON, at(MON, 9), True, "Ana", None)
    # then nothing changed: one active day with both orders, one new customer, not a repeat one
    assert again == activity
    assert activity.days == {MON: ["tiktok_shop#a", "tiktok_shop#b"]}
    assert activity.orders == 2
    assert activity.name == "Ana"  # kept when a later order carries no name
    assert customer_contribution(activity).counts == {
        key(MON): {"active": Decimal(1), "new": Decimal(1)},
        key(ALL_TIME): {"customers": Decimal(1)},
    }


def test_with_order_returns_a_new_value_and_keeps_the_latest_address() -> None:
    # given a customer and an order shipped to a new address
    before = bought([MON])
    home = Address(line1="1 Main St", postal_code="90012")
    # when the order arrives
    after = before.with_order("tiktok_shop#x", WED, at(WED), True, "Bo", home)
    # then the old value is untouched and the new one has the address and name
    assert before.orders == 1 and before.address is None
    assert after.orders == 2 and after.address == home and after.name == "Bo"


def test_no_customer_contributes_nothing() -> None:
    assert customer_contribution(None).counts == {}
    assert customer_contribution(CustomerActivity(user_id="u1")).counts == {}


# --- cancellations ------------------------------------------------------------------------------------------


def test_cancelling_the_wednesday_order_removes_its_day_and_moves_the_next_gap() -> None:
    # given the Mon / Wed / next-Mon customer
    before = bought([MON, WED, NEXT_MON])
    wednesday_ref = before.days[WED][0]
    # when the Wednesday order is cancelled (it stops counting)
    after = before.with_order(wednesday_ref, WED, at(WED), False, None, None)
    # then Wednesday is gone, and next Monday now comes 7 days after Monday instead of 5 after Wednesday;
    # all time it is still one repeat customer (2 active days), so the ALL item does not change
    assert after.days == {MON: before.days[MON], NEXT_MON: before.days[NEXT_MON]}
    assert difference(customer_contribution(after).counts, customer_contribution(before).counts) == {
        key(WED): {"active": Decimal(-1), "gap#2": Decimal(-1)},
        key(NEXT_MON): {"gap#5": Decimal(-1), "gap#7": Decimal(1)},
    }


def test_cancelling_the_first_order_makes_the_next_day_new_and_moves_the_first_order_time() -> None:
    # given the Mon / Wed / next-Mon customer
    before = bought([MON, WED, NEXT_MON])
    # when the Monday order is cancelled
    after = before.with_order(before.days[MON][0], MON, at(MON), False, None, None)
    # then Wednesday becomes the first day: its gap#2 turns into new; the first order is now Wednesday's
    assert difference(customer_contribution(after).counts, customer_contribution(before).counts) == {
        key(MON): {"active": Decimal(-1), "new": Decimal(-1)},
        key(WED): {"gap#2": Decimal(-1), "new": Decimal(1)},
    }
    assert after.first_order_at == at(WED)


def test_cancelling_one_of_two_orders_on_a_day_changes_no_counter_and_cancelling_all_removes_the_customer() -> None:
    # given a customer with two orders on Monday
    both = bought([MON, MON])
    first_ref, second_ref = both.days[MON]
    # when one is cancelled, then the day is still active and nothing changes
    one = both.with_order(first_ref, MON, at(MON), False, None, None)
    assert difference(customer_contribution(one).counts, customer_contribution(both).counts) == {}
    assert one.orders == 1
    # when the other is cancelled too, then the customer leaves every counter
    none = one.with_order(second_ref, MON, at(MON), False, None, None)
    assert none.days == {} and none.first_order_at is None
    assert difference(customer_contribution(none).counts, customer_contribution(one).counts) == {
        key(MON): {"active": Decimal(-1), "new": Decimal(-1)},
        key(ALL_TIME): {"customers": Decimal(-1)},
    }


def test_cancelling_an_order_never_seen_changes_nothing() -> None:
    activity = bought([MON])
    assert activity.with_order("tiktok_shop#unknown", WED, at(WED), False, None, None) == activity


def test_an_order_seen_on_another_day_moves_there() -> None:
    # given (should not happen, but) an order recorded on Monday that now says Wednesday
    activity = bought([MON])
    ref = activity.days[MON][0]
    # when it arrives again on Wednesday, then it is only on Wednesday
    moved = activity.with_order(ref, WED, at(WED), True, None, None)
    assert moved.days == {WED: [ref]}
    assert moved.first_order_at == at(WED)


# --- unique customers against a brute-force count --------------------------------------------------------------


def test_the_gap_formula_equals_a_brute_force_count_of_distinct_customers() -> None:
    # given 300 customers buying on random days of a 90-day stretch (some often, some once), fixed seed
    rng = random.Random(20240304)
    start = d("2024-01-01")
    customers: dict[str, list[str]] = {}
    for index in range(300):
        count = rng.choice([1, 1, 2, 3, 5, 12])
        customers[f"u{index}"] = sorted({(start + timedelta(days=rng.randrange(90))).isoformat() for _ in range(count)})
    days = per_day(summed(bought(active, user_id) for user_id, active in customers.items()))
    # when unique and new customers are read for random ranges (including ones reaching outside the stretch)
    for _ in range(500):
        first = start + timedelta(days=rng.randrange(-5, 95))
        last = first + timedelta(days=rng.randrange(0, 40))
        in_range = {user for user, active in customers.items() if any(first <= d(day) <= last for day in active)}
        first_in_range = {user for user, active in customers.items() if first <= d(active[0]) <= last}
        # then they equal the distinct customers counted one by one
        assert unique_customers(days, first, last) == len(in_range), (first, last)
        assert new_customers(days, first, last) == len(first_in_range), (first, last)


def test_the_all_time_item_counts_customers_and_repeat_customers() -> None:
    # given one customer buying on one day, one on two days, one twice on a single day
    counts = summed([bought([MON], "a"), bought([MON, WED], "b"), bought([WED, WED], "c")])
    # then all time there are 3 customers, of whom 1 (b) came back on another day
    assert counts[key(ALL_TIME)] == {"customers": Decimal(3), "repeat": Decimal(1)}


# --- time zones: the caller computes the local day ----------------------------------------------------------


def test_an_order_at_23_30_local_on_sunday_counts_on_that_sunday() -> None:
    # given a TikTok order placed Sunday 17 March 2024 at 23:30 in New York (EDT, UTC−4) = Monday 03:30 UTC
    placed = datetime(2024, 3, 18, 3, 30, tzinfo=UTC)
    order = Order(
        id="o-1", source="tiktok_shop", status="AWAITING_SHIPMENT", created_at=placed, updated_at=placed, buyer=Buyer(user_id="u1")
    )
    # when the service records it on the customer's local day
    day = local_day(order.ordered_at, "America/New_York")
    activity = CustomerActivity(user_id="u1").with_order(order_ref(order), day, order.ordered_at, counts_in_reports(order), None, None)
    days = per_day(customer_contribution(activity).counts)
    # then it is Sunday's order, in the week Mon 11th..Sun 17th and not in the week starting Mon 18th
    assert day == "2024-03-17"
    assert activity.days == {"2024-03-17": ["tiktok_shop#o-1"]}
    assert unique_customers(days, d("2024-03-11"), d("2024-03-17")) == 1
    assert unique_customers(days, d("2024-03-18"), d("2024-03-24")) == 0
    # and in UTC it would have been Monday's
    assert local_day(order.ordered_at, "UTC") == "2024-03-18"


def test_a_reseller_past_the_tracked_orders_keeps_its_activity_and_cancellations_still_apply() -> None:
    # given a buyer with MAX_TRACKED_ORDERS orders on Monday (one DynamoDB item must hold them)
    activity = CustomerActivity(user_id="reseller")
    for index in range(MAX_TRACKED_ORDERS):
        activity = activity.with_order(f"tiktok_shop#r{index}", MON, at(MON), True)
    # when one more order arrives on Wednesday
    more = activity.with_order("tiktok_shop#extra", WED, at(WED), True)
    # then it is left out (nothing changes), while cancelling a tracked order still removes it
    assert more == activity
    assert activity.with_order("tiktok_shop#r0", MON, at(MON), False).orders == MAX_TRACKED_ORDERS - 1
