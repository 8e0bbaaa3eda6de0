"""Crossover (docs/reports.md#crossover) against ordertrail.crossover.

Each test reads given / when / then; expected counters are worked out by hand in the comments. Unless a test says
otherwise the tenant is in America/Los_Angeles, net receipts = subtotal + tax + shipping − credits, and every
order ships to one address, spelt differently by TikTok Shop and by Shopify.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ordertrail.core.errors import Unprocessable
from ordertrail.core.models import Address, Order
from ordertrail.reports.crossover import crossover_customer, crossover_report
from ordertrail.tally import counters
from ordertrail.tally.addresses import address_hash
from ordertrail.tally.counters import ALL_TIME, CounterKey
from ordertrail.tally.crossover import MAX_PROFILE_ORDERS, AddressProfile, ProfileOrder, crossover_contribution, profile_order
from ordertrail.tally.periods import weeks_back

SALT = "tenant-acme-salt"
TZ = "America/Los_Angeles"
# The same household as TikTok Shop and Shopify write it.
TIKTOK_ADDRESS = Address(name="Jane Doe", line1="123 North Main Street", line2="Apartment 4B", postal_code="90012-3401", country="US")
SHOPIFY_ADDRESS = Address(name="Jane Doe", line1="123 N. Main St. #4b", postal_code="90012")


def key(day: str) -> CounterKey:
    return CounterKey("crossover", "all", day)


def order(
    source: str,
    id: str,
    at: datetime,
    *,
    subtotal: str = "0",
    tax: str = "0",
    shipping: str = "0",
    credits: str = "0",
    status: str = "paid",
    copy_of: str | None = None,
    address: Address | None = None,
) -> Order:
    return Order.model_validate(
        {
            "id": id,
            "source": source,
            "status": status,
            "created_at": at,
            "updated_at": at,
            "subtotal": subtotal,
            "tax": tax,
            "shipping": shipping,
            "credits": credits,
            "discounts": "0.00",
            "total": "0",
            "shipping_address": address,
            "connector_copy_of": copy_of,
        }
    )


# TikTok order on Mon 2024-03-04 10:00 PST (18:00Z): net = 40 + 3.20 + 5 − 0 = 48.20.
TIKTOK = order(
    "tiktok_shop", "T1", datetime(2024, 3, 4, 18, 0, tzinfo=UTC), subtotal="40.00", tax="3.20", shipping="5.00", address=TIKTOK_ADDRESS
)
# Shopify order at 2024-03-10 06:30Z = Sat 2024-03-09 22:30 PST (DST starts later that night): net = 30 + 2.40 + 0 − 0 = 32.40.
SHOPIFY = order("shopify", "S1", datetime(2024, 3, 10, 6, 30, tzinfo=UTC), subtotal="30.00", tax="2.40", address=SHOPIFY_ADDRESS)
# A Shopify order on Fri 2024-03-01 12:00 PST (20:00Z), before the TikTok one: net 25.
EARLIER_SHOPIFY = order("shopify", "S0", datetime(2024, 3, 1, 20, 0, tzinfo=UTC), subtotal="25.00", address=SHOPIFY_ADDRESS)


def hashed(address: Address | None) -> str | None:
    assert address is not None
    return address_hash(address, SALT)


def add(profile: AddressProfile, stored: Order) -> AddressProfile:
    """What the ingest path does: the order in its latest state, counted unless cancelled or a connector copy."""
    customer = stored.buyer.user_id if stored.source == "tiktok_shop" else None
    name = stored.shipping_address.name if stored.shipping_address else None
    return profile.with_order(profile_order(stored, TZ), counters.counts_in_reports(stored), customer, name)


def profile_of(*stored: Order) -> AddressProfile:
    address = hashed(stored[0].shipping_address)
    assert address is not None
    profile = AddressProfile(address_hash=address)
    for each in stored:
        profile = add(profile, each)
    return profile


# Worked out for TIKTOK then SHOPIFY:
#   2024-03-04 (the TikTok order's local day): sourced 1
#   2024-03-09 (the Shopify order's local day): crossed 1, other_orders 1, and in USD other_orders#USD 1, other_net#USD 32.40
#   ALL: the sums, and by_other_orders#1 (one other-store order).
CROSSED = {
    key("2024-03-04"): {"sourced": Decimal(1)},
    key("2024-03-09"): {
        "crossed": Decimal(1),
        "other_orders": Decimal(1),
        "other_orders#USD": Decimal(1),
        "other_net#USD": Decimal("32.40"),
    },
    key(ALL_TIME): {
        "sourced": Decimal(1),
        "crossed": Decimal(1),
        "other_orders": Decimal(1),
        "other_orders#USD": Decimal(1),
        "other_net#USD": Decimal("32.40"),
        "by_other_orders#1": Decimal(1),
    },
}


def test_two_spellings_hash_alike_and_a_shopify_order_after_a_tiktok_one_crosses() -> None:
    # given one address as TikTok and as Shopify spell it
    assert hashed(TIKTOK_ADDRESS) == hashed(SHOPIFY_ADDRESS) is not None
    # when the TikTok order, then the Shopify one, join that address's profile
    profile = profile_of(TIKTOK, SHOPIFY)
    # then TikTok sourced the customer, the Shopify order crossed it, on their local days
    assert profile.sourced and profile.crossed
    assert profile.first is not None and profile.first.ref == "tiktok_shop#T1"
    assert profile.first_other is not None and profile.first_other.ref == "shopify#S1"
    assert profile.first_other.day == "2024-03-09" and profile.first_other.net == Decimal("32.40")
    assert crossover_contribution(profile).counts == CROSSED


def test_the_crossed_customer_row() -> None:
    # given a crossed profile whose TikTok order carried the buyer's id
    tiktok = TIKTOK.model_copy(update={"buyer": TIKTOK.buyer.model_copy(update={"user_id": "tt-42"})})
    profile = profile_of(tiktok, SHOPIFY)
    # when listed
    row = crossover_customer(profile)
    # then it shows the key (16 hex digits of the hash), who, when, and the other store's figures
    assert row is not None
    assert row.address_key == profile.address_hash[:16] and len(row.address_key) == 16
    assert (row.tiktok_customer_id, row.name) == ("tt-42", "Jane Doe")
    assert row.first_tiktok_order_at == TIKTOK.ordered_at and row.first_other_order_at == SHOPIFY.ordered_at
    assert (row.tiktok_orders, row.other_orders, row.other_net_receipts) == (1, 1, {"USD": Decimal("32.40")})


def test_a_shopify_order_before_the_tiktok_one_means_not_sourced() -> None:
    # given the customer bought on Shopify (Mar 1) before TikTok Shop (Mar 4)
    profile = profile_of(EARLIER_SHOPIFY, TIKTOK, SHOPIFY)
    # then TikTok did not bring them: nothing is counted, not even the later Shopify order
    assert not profile.sourced and not profile.crossed and profile.first_other is None
    assert crossover_contribution(profile).counts == {}
    assert crossover_customer(profile) is None


def test_equal_times_are_ordered_by_ref() -> None:
    # given a Shopify order at the very same instant as the TikTok one
    same_time = order("shopify", "S9", TIKTOK.created_at, subtotal="1.00", address=SHOPIFY_ADDRESS)
    # when profiled in either arrival order, then "shopify#S9" < "tiktok_shop#T1" comes first: not sourced
    assert not profile_of(TIKTOK, same_time).sourced
    assert not profile_of(same_time, TIKTOK).sourced


def test_an_out_of_order_arrival_gives_the_in_order_contribution() -> None:
    # given the Shopify order is stored first: alone it is an unsourced profile, contributing nothing
    shopify_only = profile_of(SHOPIFY)
    assert crossover_contribution(shopify_only).counts == {}
    # when the earlier TikTok order arrives afterwards
    both = add(shopify_only, TIKTOK)
    # then the profile contributes what it would have in order, and the write is all of it
    assert crossover_contribution(both).counts == CROSSED
    assert crossover_contribution(both).counts == crossover_contribution(profile_of(TIKTOK, SHOPIFY)).counts
    assert counters.difference(crossover_contribution(both).counts, crossover_contribution(shopify_only).counts) == CROSSED


def test_re_adding_an_order_changes_nothing() -> None:
    # given a crossed profile
    profile = profile_of(TIKTOK, SHOPIFY)
    # when the Shopify webhook is delivered again
    again = add(profile, SHOPIFY)
    # then the profile and its counters are unchanged
    assert again == profile
    assert counters.difference(crossover_contribution(again).counts, crossover_contribution(profile).counts) == {}


def test_cancelling_the_shopify_order_un_crosses() -> None:
    # given a crossed profile
    before = profile_of(TIKTOK, SHOPIFY)
    # when the Shopify order is cancelled
    after = add(before, SHOPIFY.model_copy(update={"status": "cancelled"}))
    # then the order leaves the profile, TikTok still sourced the customer, and the write takes the crossing back:
    #   2024-03-09: crossed −1, other_orders −1, other_orders#USD −1, other_net#USD −32.40; ALL: the same and by_other_orders#1 −1
    assert not after.crossed and after.sourced and "shopify#S1" not in after.orders
    taken_back = {"crossed": Decimal(-1), "other_net#USD": Decimal("-32.40"), "other_orders": Decimal(-1), "other_orders#USD": Decimal(-1)}
    assert counters.difference(crossover_contribution(after).counts, crossover_contribution(before).counts) == {
        key("2024-03-09"): taken_back,
        key(ALL_TIME): {"by_other_orders#1": Decimal(-1), **taken_back},
    }


def test_a_connector_copy_of_the_tiktok_order_is_not_a_crossover() -> None:
    # given a connector app copied the TikTok order into Shopify, to the same address, a day later
    copy = order("shopify", "S2", datetime(2024, 3, 5, 18, 0, tzinfo=UTC), subtotal="40.00", copy_of="T1", address=SHOPIFY_ADDRESS)
    # when it reaches the profile, then it is not counted and the customer has not crossed
    profile = profile_of(TIKTOK, copy)
    assert list(profile.orders) == ["tiktok_shop#T1"] and not profile.crossed
    assert crossover_contribution(profile).counts == {key("2024-03-04"): {"sourced": Decimal(1)}, key(ALL_TIME): {"sourced": Decimal(1)}}


def test_a_masked_address_has_no_hash_so_joins_no_profile() -> None:
    # given TikTok masked the address of an order
    masked = Address(line1="1** N***h Main Street", line2="Apartment 4B", postal_code="900**")
    # when hashed, then there is no key: the order joins no profile and contributes nothing
    assert address_hash(masked, SALT) is None
    assert crossover_contribution(None).counts == {}
    assert crossover_customer(None) is None


def six_shopify_orders() -> list[Order]:
    """Shopify orders on Mar 11..16 2024 at noon UTC (04:00 or 05:00 local, the same day), net 10 each."""
    return [
        order("shopify", f"S{day}", datetime(2024, 3, day, 12, 0, tzinfo=UTC), subtotal="10.00", address=SHOPIFY_ADDRESS)
        for day in range(11, 17)
    ]


def test_five_or_more_other_orders_are_one_breakdown_row() -> None:
    # given a TikTok order then six Shopify orders, one a day Mar 11..16, net 10 each
    profile = profile_of(TIKTOK, *six_shopify_orders())
    # when counted
    counts = crossover_contribution(profile).counts
    # then crossed on Mar 11, one other order a day, and the ALL item puts the customer in the 5+ row (K = min(6, 5))
    one_day = {"other_orders": Decimal(1), "other_orders#USD": Decimal(1), "other_net#USD": Decimal(10)}
    assert counts[key("2024-03-11")] == {"crossed": Decimal(1), **one_day}
    assert counts[key("2024-03-16")] == one_day
    assert counts[key(ALL_TIME)] == {
        "sourced": Decimal(1),
        "crossed": Decimal(1),
        "other_orders": Decimal(6),
        "other_orders#USD": Decimal(6),
        "other_net#USD": Decimal(60),
        "by_other_orders#5": Decimal(1),
    }


def test_the_report_totals_shares_and_breakdown() -> None:
    # given three profiles: crossed with 1 other order (32.40), crossed with 6 (6 × 10), sourced only
    one = profile_of(TIKTOK, SHOPIFY)
    many = profile_of(TIKTOK, *six_shopify_orders()).model_copy(update={"address_hash": "b" * 64})
    alone = profile_of(TIKTOK).model_copy(update={"address_hash": "c" * 64})
    total = counters.Tally()
    for profile in (one, many, alone):
        for counter, values in crossover_contribution(profile).counts.items():
            total.add(counter, values)
    customers = [row for row in (crossover_customer(p) for p in (many, one, alone)) if row is not None]
    # when the report is built (no week asked for)
    report = crossover_report(
        time_zone=TZ, all_time=total.counts[key(ALL_TIME)], days={}, week_starts=[], today=date(2024, 3, 20), customers=customers
    )
    # then sourced 3, crossed 2, share 2/3, other net 32.40 + 60 = 92.40
    assert (report.sourced_customers, report.crossover_customers) == (3, 2)
    assert report.crossover_share == pytest.approx(2 / 3) and report.non_crossover_share == pytest.approx(1 / 3)
    assert report.other_net_receipts == {"USD": Decimal("92.40")}
    # and the breakdown always has the five rows: one customer with 1 order, one with 5+
    assert [(row.other_orders, row.customers) for row in report.breakdown] == [("1", 1), ("2", 0), ("3", 0), ("4", 0), ("5+", 1)]
    # and customers run by their first other-store order: Mar 9 (one) before Mar 11 (many)
    assert [row.address_key for row in report.customers] == [one.address_hash[:16], "b" * 16]


def test_no_sourced_customers_means_no_shares() -> None:
    # given nothing counted yet
    report = crossover_report(
        time_zone=TZ, all_time={}, days={}, week_starts=weeks_back(date(2024, 3, 13), 2), today=date(2024, 3, 13), customers=[]
    )
    # then the shares are unknown, not 0, and every week and row is there with zeros
    assert report.crossover_share is None and report.non_crossover_share is None
    assert [(w.week_start, w.crossed, w.sourced, w.cumulative_share) for w in report.weeks] == [
        (date(2024, 3, 4), 0, 0, None),
        (date(2024, 3, 11), 0, 0, None),
    ]
    assert [row.customers for row in report.breakdown] == [0, 0, 0, 0, 0]


def test_weekly_and_cumulative_figures() -> None:
    # given today is Wed 2024-03-13, all time 10 sourced and 4 crossed, and these day items since Mon Feb 26
    today = date(2024, 3, 13)
    days = {
        "2024-02-27": {"sourced": Decimal(1)},
        "2024-03-05": {"sourced": Decimal(2), "crossed": Decimal(1)},
        "2024-03-10": {"sourced": Decimal(1), "crossed": Decimal(1)},  # a Sunday: the last day of its week
        "2024-03-12": {"sourced": Decimal(1), "crossed": Decimal(1), "other_net": Decimal("9.99")},
        "2024-03-13": {"sourced": Decimal(1)},
    }
    all_time = {"sourced": Decimal(10), "crossed": Decimal(4)}
    # when the last 3 weeks are reported
    weeks = weeks_back(today, 3)
    report = crossover_report(time_zone=TZ, all_time=all_time, days=days, week_starts=weeks, today=today, customers=[])
    # then, per week (cumulative = all time − the days after the week's end):
    #   Feb 26–Mar 3: in week sourced 1, crossed 0; after it sourced 2+1+1+1 = 5, crossed 1+1+1 = 3 → cumulative 5, 1, 1/5
    #   Mar 4–Mar 10: in week sourced 2+1 = 3, crossed 1+1 = 2; after it sourced 1+1 = 2, crossed 1 → 8, 3, 3/8
    #   Mar 11–today: in week sourced 1+1 = 2, crossed 1; nothing after → 10, 4, 4/10
    assert [(w.week_start, w.sourced, w.crossed, w.cumulative_sourced, w.cumulative_crossed, w.cumulative_share) for w in report.weeks] == [
        (date(2024, 2, 26), 1, 0, 5, 1, 0.2),
        (date(2024, 3, 4), 3, 2, 8, 3, 0.375),
        (date(2024, 3, 11), 2, 1, 10, 4, 0.4),
    ]


def test_weeks_back_ends_with_the_current_week() -> None:
    # given Sunday 2024-03-10, the last day of the week starting Monday 2024-03-04
    # when 12 weeks are asked for (the default), then they are the Mondays from 11 weeks before to this one
    weeks = weeks_back(date(2024, 3, 10))
    assert len(weeks) == 12 and weeks[-1] == date(2024, 3, 4) and weeks[0] == date(2023, 12, 18)
    assert all(monday.weekday() == 0 for monday in weeks) and weeks == sorted(weeks)
    # and a Monday is its own week's start
    assert weeks_back(date(2024, 3, 11), 1) == [date(2024, 3, 11)]


@pytest.mark.parametrize("weeks", [0, -1, 105])
def test_weeks_back_refuses_out_of_range(weeks: int) -> None:
    # when asked for fewer than 1 or more than 104 weeks, then the caller is told which field is wrong
    with pytest.raises(Unprocessable) as raised:
        weeks_back(date(2024, 3, 13), weeks)
    assert raised.value.field == "weeks" and raised.value.status == 422


def test_a_profile_order_ref_names_its_store() -> None:
    # given a ref that names another store, then the profile order is refused
    with pytest.raises(ValueError, match="ref must be"):
        ProfileOrder(ref="shopify#1", source="tiktok_shop", ordered_at=TIKTOK.ordered_at, net=Decimal(1), day="2024-03-04")


def test_an_address_past_the_profile_limit_takes_no_more_orders_but_cancellations_apply() -> None:
    # given a forwarder's address with MAX_PROFILE_ORDERS TikTok orders (one DynamoDB item must hold them)
    address = hashed(TIKTOK_ADDRESS)
    assert address is not None
    profile = AddressProfile(address_hash=address)
    for index in range(MAX_PROFILE_ORDERS):
        entry = ProfileOrder(
            ref=f"tiktok_shop#F{index}", source="tiktok_shop", ordered_at=TIKTOK.ordered_at, net=Decimal(1), day="2024-03-04"
        )
        profile = profile.with_order(entry, True, "forwarder")
    # when a Shopify order arrives for it
    crossed = add(profile, SHOPIFY)
    # then it is left out (the address does not cross), while a tracked order's cancellation is still applied
    assert crossed == profile and not crossed.crossed
    first = profile.orders["tiktok_shop#F0"]
    assert len(profile.with_order(first, False).orders) == MAX_PROFILE_ORDERS - 1


# ------------------------------------------------------------------------------------------------ several currencies
def test_other_store_receipts_in_two_currencies_are_kept_apart() -> None:
    """Given a TikTok customer who then bought on Shopify in USD (32.40) and on the own site in CAD (25.00), when the
    profile is counted and listed, then each currency has its own fields and figure, and nothing adds the two."""
    cad = order("other", "W1", datetime(2024, 3, 12, 18, 0, tzinfo=UTC), subtotal="25.00", address=SHOPIFY_ADDRESS)
    cad = cad.model_copy(update={"currency": "CAD"})
    profile = profile_of(TIKTOK, SHOPIFY, cad)
    counts = crossover_contribution(profile).counts
    assert counts[key("2024-03-12")] == {"other_orders": Decimal(1), "other_orders#CAD": Decimal(1), "other_net#CAD": Decimal("25.00")}
    assert {name: value for name, value in counts[key(ALL_TIME)].items() if "#" in name and "by_" not in name} == {
        "other_orders#CAD": Decimal(1),
        "other_net#CAD": Decimal("25.00"),
        "other_orders#USD": Decimal(1),
        "other_net#USD": Decimal("32.40"),
    }
    row = crossover_customer(profile)
    assert row is not None and row.other_orders == 2
    assert row.other_net_receipts == {"CAD": Decimal("25.00"), "USD": Decimal("32.40")}
    all_time = counts[key(ALL_TIME)]
    report = crossover_report(time_zone=TZ, all_time=all_time, days={}, week_starts=[], today=date(2024, 3, 20), customers=[row])
    assert report.other_net_receipts == {"CAD": Decimal("25.00"), "USD": Decimal("32.40")}


def test_an_entry_stored_before_currencies_keeps_its_bare_amount_until_its_order_is_seen_again() -> None:
    """Given a profile stored before currencies (its Shopify entry has no currency and added a bare `other_net`), when
    that order arrives again, now known to be in CAD, then the difference takes the bare amount out and puts it
    under CAD, and until then the bare amount reads as USD."""
    legacy_entry = profile_order(SHOPIFY, TZ).model_copy(update={"currency": None})
    before = profile_of(TIKTOK).model_copy(update={"orders": {**profile_of(TIKTOK).orders, legacy_entry.ref: legacy_entry}})
    assert crossover_contribution(before).counts[key("2024-03-09")] == {
        "crossed": Decimal(1),
        "other_orders": Decimal(1),
        "other_net": Decimal("32.40"),
    }
    row = crossover_customer(before)
    assert row is not None and row.other_net_receipts == {"USD": Decimal("32.40")}
    after = add(before, SHOPIFY.model_copy(update={"currency": "CAD"}))
    moved = {"other_net": Decimal("-32.40"), "other_net#CAD": Decimal("32.40"), "other_orders#CAD": Decimal(1)}
    assert counters.difference(crossover_contribution(after).counts, crossover_contribution(before).counts) == {
        key("2024-03-09"): moved,
        key(ALL_TIME): moved,
    }
