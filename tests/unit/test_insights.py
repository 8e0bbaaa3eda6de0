"""Insights (docs/reports.md#insights): which days and weeks are shown, and the figures read from the counters.

Each test reads given / when / then, with the expected figures worked out by hand in the comments. The shop is in
New York; "today" is Wednesday 20 March 2024 unless a test says otherwise (its week starts Monday 18 March).
Orders go through the real counter code (counters.order_contribution and customers.customer_contribution), and
the counters summed from them are what build_insights reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ordertrail.core.errors import Unprocessable
from ordertrail.core.models import Buyer, LineItem, Order
from ordertrail.core.report_models import Figures, InsightsReport
from ordertrail.core.rules import order_ref
from ordertrail.reports.insights import build_insights, top_products
from ordertrail.tally.counters import ALL_TIME, OTHER_PRODUCTS, Counts, Tally, counts_in_reports, order_contribution
from ordertrail.tally.customers import CustomerActivity, customer_contribution
from ordertrail.tally.periods import last_full_days, local_day, week_starts

ZONE = "America/New_York"
TODAY = date(2024, 3, 20)  # a Wednesday


def d(text: str) -> date:
    return date.fromisoformat(text)


def D(text: str | int) -> Decimal:
    return Decimal(text)


def usd(text: str | int) -> dict[str, Decimal]:
    """An amount in US dollars, as insights show money: a map per currency."""
    return {"USD": Decimal(text)}


def order(
    order_id: str,
    local: str,
    *,
    source: str = "tiktok_shop",
    user: str | None = None,
    subtotal: str = "0",
    tax: str = "0",
    product: str | None = None,
    status: str = "AWAITING_SHIPMENT",
    currency: str = "USD",
) -> Order:
    """An order placed at a local New York time (`yyyy-mm-dd hh:mm`), for one unit of `product` at the subtotal."""
    placed = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(ZONE))
    lines = [LineItem(product_id=product, name=f"Name of {product}", quantity=1, unit_price=D(subtotal))] if product else []
    return Order.model_validate(
        {
            "id": order_id,
            "source": source,
            "status": status,
            "created_at": placed,
            "updated_at": placed,
            "buyer": Buyer(user_id=user),
            "line_items": lines,
            "subtotal": D(subtotal),
            "tax": D(tax),
            "total": D(subtotal) + D(tax),
            "currency": currency,
        }
    )


def stored_counters(orders: Iterable[Order]) -> Tally:
    """The counters after these orders: every order's contribution plus every TikTok customer's, summed."""
    tally = Tally()
    customers: dict[str, CustomerActivity] = {}
    for one in orders:
        contribution = order_contribution(one, None, ZONE)
        for key, values in contribution.counts.items():
            tally.add(key, values, contribution.labels.get(key))
        if one.source == "tiktok_shop" and one.buyer.user_id:
            activity = customers.get(one.buyer.user_id, CustomerActivity(user_id=one.buyer.user_id))
            day = local_day(one.ordered_at, ZONE)
            customers[one.buyer.user_id] = activity.with_order(order_ref(one), day, one.ordered_at, counts_in_reports(one), None, None)
    for activity in customers.values():
        for key, values in customer_contribution(activity).counts.items():
            tally.add(key, values)
    return tally


def insights(orders: Iterable[Order], *, today: date = TODAY, weeks: list[date] | None = None, top: int = 10) -> InsightsReport:
    """The insights the service would build: it reads the counter items and hands their values over."""
    tally = stored_counters(orders)
    counts: Counts = tally.counts
    by_day: dict[str, dict[str, dict[str, dict[str, Decimal]]]] = {}
    for key, values in counts.items():
        by_day.setdefault(key.dimension, {}).setdefault(key.day, {})[key.id] = values
    return build_insights(
        time_zone=ZONE,
        today=today,
        all_time_orders=by_day.get("orders", {}).get(ALL_TIME, {}),
        all_time_customers=by_day.get("customers", {}).get(ALL_TIME, {}).get("tiktok_shop", {}),
        order_days={day: sources for day, sources in by_day.get("orders", {}).items() if day != ALL_TIME},
        customer_days={day: ids["tiktok_shop"] for day, ids in by_day.get("customers", {}).items() if day != ALL_TIME},
        product_days={day: products for day, products in by_day.get("product", {}).items() if day != ALL_TIME},
        product_names={key.id: labels["name"] for key, labels in tally.labels.items() if key.dimension == "product"},
        last_days=last_full_days(today),
        weeks=weeks if weeks is not None else week_starts(today),
        top=top,
    )


# The shop's orders (net receipts = subtotal + tax; no shipping or credits):
SHOP = [
    order("E", "2024-03-12 10:00", user="u3", subtotal="5.00", product="P3"),  # Tue: before the last 7 days, u3's first
    order("C", "2024-03-13 12:00", user="u1", subtotal="12.00", tax="1.40", product="P2"),  # Wed: 13.40, u1's first
    order("F", "2024-03-14 12:00", user="u4", subtotal="99.00", status="CANCELLED"),  # Thu: cancelled, never counts
    order("D", "2024-03-15 12:00", source="shopify", subtotal="40.00"),  # Fri: Shopify 40.00
    order("E2", "2024-03-16 18:00", user="u3", subtotal="6.00", product="P3"),  # Sat: u3 again
    order("A", "2024-03-19 10:00", user="u1", subtotal="20.00", tax="6.60", product="P1"),  # Tue: 26.60, u1 again
    order("B", "2024-03-20 09:00", user="u2", subtotal="10.00", product="P1"),  # Wed: today, u2's first
]


# --- which days and weeks -----------------------------------------------------------------------------------------


def test_the_last_7_days_are_the_7_days_before_today() -> None:
    # given Wednesday the 20th, then the last 7 full days are Wed 13th..Tue 19th (today excluded)
    assert last_full_days(TODAY) == (d("2024-03-13"), d("2024-03-19"))


@pytest.mark.parametrize("today", [d("2024-03-18"), d("2024-03-20"), d("2024-03-24")])
def test_the_default_weeks_are_the_6_full_weeks_before_the_current_one(today: date) -> None:
    # given any day of the week starting Monday the 18th (Monday, Wednesday, Sunday),
    # then the weeks are the 6 whole weeks before it, Mondays 5 Feb .. 11 Mar
    assert week_starts(today) == [d(x) for x in ("2024-02-05", "2024-02-12", "2024-02-19", "2024-02-26", "2024-03-04", "2024-03-11")]


def test_weeks_n_is_the_n_full_weeks_before_the_current_one() -> None:
    assert week_starts(TODAY, weeks=2) == [d("2024-03-04"), d("2024-03-11")]
    assert len(week_starts(TODAY, weeks=104)) == 104
    assert week_starts(TODAY, weeks=104)[-1] == d("2024-03-11")


def test_from_and_to_are_snapped_out_to_whole_weeks() -> None:
    # given Thu 29 Feb .. Tue 5 Mar, then the weeks touching it are those of Mon 26 Feb and Mon 4 Mar
    assert week_starts(TODAY, from_=d("2024-02-29"), to=d("2024-03-05")) == [d("2024-02-26"), d("2024-03-04")]
    # a single Sunday is its own week (Mon 11th..Sun 17th)
    assert week_starts(TODAY, from_=d("2024-03-17"), to=d("2024-03-17")) == [d("2024-03-11")]
    # from alone runs to today's week
    assert week_starts(TODAY, from_=d("2024-03-12")) == [d("2024-03-11"), d("2024-03-18")]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"weeks": 0}, "weeks"),
        ({"weeks": 105}, "weeks"),
        ({"weeks": 2, "from_": d("2024-03-01")}, "weeks"),
        ({"from_": d("2024-03-06"), "to": d("2024-03-05")}, "from"),
        ({"from_": d("2022-03-06"), "to": d("2024-03-05")}, "from"),  # 105 weeks
    ],
)
def test_impossible_week_choices_are_refused(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        week_starts(TODAY, **arguments)
    assert refused.value.field == field
    assert refused.value.status == 422


# --- the figures --------------------------------------------------------------------------------------------------


def test_last_7_days_totals_share_and_average_order_value() -> None:
    # when the insights are built on Wednesday the 20th
    last_7 = insights(SHOP).last_7_days
    # then they cover Wed 13th..Tue 19th: TikTok orders C, E2, A = 3 (E was on the 12th, B is today, F is cancelled)
    assert (last_7.range.from_, last_7.range.to, last_7.range.days) == (d("2024-03-13"), d("2024-03-19"), 7)
    totals = last_7.totals
    assert totals.orders == 3
    # net receipts 13.40 + 6.00 + 26.60 = 46.00; AOV 46.00 / 3 = 15.333… → 15.33
    assert totals.net_receipts == usd("46.00")
    assert totals.average_order_value == usd("15.33")
    # all stores: 46.00 TikTok + 40.00 Shopify = 86.00; TikTok's share 46 / 86
    assert totals.all_stores_net_receipts == usd("86.00")
    assert totals.tiktok_share == {"USD": pytest.approx(46 / 86)}
    # customers: u1 and u3 = 2; new: u1 (first order the 13th) = 1; repeat: u3 (first order the 12th, before) = 1
    assert (totals.customers, totals.new_customers, totals.repeat_customers) == (2, 1, 1)


def test_last_7_days_daily_series() -> None:
    days = {day.day.isoformat(): day for day in insights(SHOP).last_7_days.days}
    # then there is one row per day, Wed 13th..Tue 19th, today (20th) not among them
    assert list(days) == ["2024-03-13", "2024-03-14", "2024-03-15", "2024-03-16", "2024-03-17", "2024-03-18", "2024-03-19"]
    # Wed 13th: C by u1, new (13.40)
    assert (days["2024-03-13"].orders, days["2024-03-13"].net_receipts) == (1, usd("13.40"))
    assert (days["2024-03-13"].customers, days["2024-03-13"].new_customers, days["2024-03-13"].repeat_customers) == (1, 1, 0)
    # Thu 14th: only the cancelled order → nothing (no currency has an order, so every money map is empty)
    assert (days["2024-03-14"].orders, days["2024-03-14"].customers, days["2024-03-14"].average_order_value) == (0, 0, {})
    assert (days["2024-03-14"].net_receipts, days["2024-03-14"].all_stores_net_receipts) == ({}, {})
    # Fri 15th: only Shopify → no TikTok orders, TikTok's share 0 of 40.00
    friday = days["2024-03-15"]
    assert (friday.orders, friday.net_receipts, friday.all_stores_net_receipts, friday.tiktok_share) == (0, {}, usd("40.00"), {"USD": 0.0})
    # Sat 16th: u3 again → a repeat customer; Sun 17th: nothing, no share (0 / 0)
    assert (days["2024-03-16"].customers, days["2024-03-16"].new_customers, days["2024-03-16"].repeat_customers) == (1, 0, 1)
    assert days["2024-03-17"].tiktok_share == {}
    # Tue 19th: A by u1 again → repeat, 26.60
    assert (days["2024-03-19"].net_receipts, days["2024-03-19"].repeat_customers) == (usd("26.60"), 1)


def test_weekly_by_default_shows_the_6_full_weeks_before_the_current_one() -> None:
    weekly = insights(SHOP).weekly
    # then the range is Mon 5 Feb .. Sun 17 Mar (6 weeks, 42 days); this week's A and B are not in it
    assert (weekly.range.from_, weekly.range.to, weekly.range.days) == (d("2024-02-05"), d("2024-03-17"), 42)
    assert [(w.week_start, w.week_end) for w in weekly.weeks][-1] == (d("2024-03-11"), d("2024-03-17"))
    assert len(weekly.weeks) == 6
    # the week of the 11th: TikTok E, C, E2 = 3 orders, 5.00 + 13.40 + 6.00 = 24.40, AOV 8.133… → 8.13;
    # all stores 24.40 + 40.00 = 64.40; customers u3 and u1, both new that week (first orders 12th and 13th)
    week = weekly.weeks[-1]
    assert (week.orders, week.net_receipts, week.average_order_value) == (3, usd("24.40"), usd("8.13"))
    assert (week.all_stores_net_receipts, week.tiktok_share) == (usd("64.40"), {"USD": pytest.approx(24.40 / 64.40)})
    assert (week.customers, week.new_customers, week.repeat_customers) == (2, 2, 0)
    # an earlier week had nothing: no AOV, no share
    assert (weekly.weeks[0].orders, weekly.weeks[0].average_order_value, weekly.weeks[0].tiktok_share) == (0, {}, {})
    # the totals of the 6 weeks are that one week's
    assert weekly.totals == Figures.model_validate(week.model_dump(exclude={"week_start", "week_end"}))


def test_weekly_totals_count_a_customer_once_across_weeks() -> None:
    # given weeks of Mon 11th and Mon 18th (as if from/to asked for them), u1 buying in both (13th, 19th)
    weekly = insights(SHOP, weeks=[d("2024-03-11"), d("2024-03-18")]).weekly
    # then each week counts u1 once, and the two weeks together count u1 once too:
    # week 11th: u3, u1 (both new) = 2; week 18th: u1 (repeat), u2 (new, today) = 2; together u1, u2, u3 = 3, all new
    assert [(w.customers, w.new_customers, w.repeat_customers) for w in weekly.weeks] == [(2, 2, 0), (2, 1, 1)]
    assert (weekly.totals.customers, weekly.totals.new_customers, weekly.totals.repeat_customers) == (3, 3, 0)
    # and 5 TikTok orders, 24.40 + 26.60 + 10.00 = 61.00
    assert (weekly.totals.orders, weekly.totals.net_receipts) == (5, usd("61.00"))


def test_all_time_figures() -> None:
    all_time = insights(SHOP).all_time
    # then all time: TikTok E, C, E2, A, B = 5 orders, 5.00 + 13.40 + 6.00 + 26.60 + 10.00 = 61.00, AOV 12.20;
    # all stores 61.00 + 40.00 = 101.00; customers u1, u2, u3 (u4's only order is cancelled) = 3, every one new
    # once; repeat = customers active on two or more days: u1 (13th, 19th) and u3 (12th, 16th) = 2
    assert (all_time.orders, all_time.net_receipts, all_time.average_order_value) == (5, usd("61.00"), usd("12.20"))
    assert (all_time.all_stores_net_receipts, all_time.tiktok_share) == (usd("101.00"), {"USD": pytest.approx(61 / 101)})
    assert (all_time.customers, all_time.new_customers, all_time.repeat_customers) == (3, 3, 2)


def test_an_order_at_23_30_local_on_sunday_counts_in_that_sundays_week() -> None:
    # given a TikTok order at 23:30 New York time on Sunday the 17th (03:30 UTC on Monday the 18th)
    late = order("L", "2024-03-17 23:30", user="u9", subtotal="7.00", product="P9")
    assert late.ordered_at.isoformat() == "2024-03-18T03:30:00+00:00"
    # when the insights are built with the weeks of the 11th and the 18th
    weekly = insights([late], weeks=[d("2024-03-11"), d("2024-03-18")]).weekly
    # then it is in the week Mon 11th..Sun 17th, not the next one
    assert [(w.week_start, w.orders, w.customers) for w in weekly.weeks] == [(d("2024-03-11"), 1, 1), (d("2024-03-18"), 0, 0)]


def test_average_order_value_rounds_half_up_to_cents() -> None:
    # given two TikTok orders of 0.02 and 0.03 on one day: net 0.05, AOV 0.025 → 0.03
    two = [order("a", "2024-03-19 10:00", user="u1", subtotal="0.02"), order("b", "2024-03-19 11:00", user="u2", subtotal="0.03")]
    assert insights(two).last_7_days.totals.average_order_value == usd("0.03")


# --- top products ---------------------------------------------------------------------------------------------


def test_top_products_over_each_period() -> None:
    report = insights(SHOP)
    # last 7 days: P1 (A, 20.00 × 1), P2 (C, 12.00), P3 (E2, 6.00); B's P1 is today's
    assert [(p.product_id, p.name, p.units, p.sales) for p in report.last_7_days.top_products] == [
        ("P1", "Name of P1", 1, usd("20.00")),
        ("P2", "Name of P2", 1, usd("12.00")),
        ("P3", "Name of P3", 1, usd("6.00")),
    ]
    # weeks: P2 12.00, then P3 5.00 + 6.00 = 11.00 over 2 units
    assert [(p.product_id, p.units, p.sales) for p in report.weekly.top_products] == [("P2", 1, usd("12.00")), ("P3", 2, usd("11.00"))]


def test_top_products_rank_by_sales_then_units_then_id_and_leave_out_the_pooled_rest() -> None:
    # given products over two days (fields as the counters hold them)
    product_days = {
        "2024-03-13": {"P1": {"units": D(2), "sales#USD": D("20")}, "P3": {"units": D(1), "sales#USD": D("50")}},
        "2024-03-14": {
            "P1": {"units": D(1), "sales#USD": D("10")},  # P1: 3 units, 30.00
            "P2": {"units": D(5), "sales#USD": D("30")},  # P2: 5 units, 30.00
            "P0": {"units": D(5), "sales#USD": D("30")},  # P0: like P2 → by id
            OTHER_PRODUCTS: {"units": D(40), "sales#USD": D("100")},  # the pool of an order's smallest lines
            "GONE": {"units": D(0), "sales#USD": D(0)},  # cancelled back to zero
        },
        "2024-03-20": {"P9": {"units": D(9), "sales#USD": D("900")}},  # outside the period
    }
    names = {"P3": "Big", "P1": "Small"}
    # when the top 3 over the 13th..14th are taken
    top = top_products(product_days, names, d("2024-03-13"), d("2024-03-14"), top=3)
    # then P3 (50.00) first; P0 and P2 (30.00, 5 units) before P1 (30.00, 3 units), P0 before P2 by id; top 3 only
    assert [(p.product_id, p.name, p.units, p.sales) for p in top] == [
        ("P3", "Big", 1, usd("50")),
        ("P0", None, 5, usd("30")),
        ("P2", None, 5, usd("30")),
    ]


# --- several currencies ---------------------------------------------------------------------------------------

# A shop selling in the US and in Canada (net receipts = subtotal + tax):
TWO_CURRENCIES = [
    order("U1", "2024-03-13 12:00", user="u1", subtotal="20.00", product="P1"),  # Wed: TikTok USD 20.00
    order("U2", "2024-03-14 12:00", user="u2", subtotal="10.00", tax="0.01", product="P2"),  # Thu: TikTok USD 10.01
    order("C1", "2024-03-14 13:00", user="u3", subtotal="30.00", product="P2", currency="CAD"),  # Thu: TikTok CAD 30.00
    order("S1", "2024-03-15 12:00", source="shopify", subtotal="60.00", currency="CAD"),  # Fri: Shopify CAD 60.00
    order("S2", "2024-03-15 13:00", source="shopify", subtotal="5.00"),  # Fri: Shopify USD 5.00
]


def test_a_shop_selling_in_two_currencies_sees_each_apart_and_never_their_sum() -> None:
    """Given TikTok and Shopify orders in USD and CAD, when the insights are built, then every amount, the average order
    value and TikTok's share are per currency, each currency divided only by itself."""
    # given TikTok orders in USD (20.00, 10.01) and CAD (30.00), and Shopify orders in CAD (60.00) and USD (5.00)
    totals = insights(TWO_CURRENCIES).last_7_days.totals
    # then orders and customers count every order, but each amount is per currency: USD 30.01, CAD 30.00 (never 60.01)
    assert (totals.orders, totals.customers) == (3, 3)
    assert totals.net_receipts == {"CAD": D("30.00"), "USD": D("30.01")}
    # AOV divides each currency by its own orders: USD 30.01 / 2 = 15.005 → 15.01; CAD 30.00 / 1
    assert totals.average_order_value == {"CAD": D("30.00"), "USD": D("15.01")}
    # all stores: USD 30.01 + 5.00 = 35.01; CAD 30.00 + 60.00 = 90.00; TikTok's share within each currency
    assert totals.all_stores_net_receipts == {"CAD": D("90.00"), "USD": D("35.01")}
    assert totals.tiktok_share == {"CAD": pytest.approx(30 / 90), "USD": pytest.approx(30.01 / 35.01)}
    # and a day holds only the currencies it sold in: Thursday both, Friday only Shopify (no TikTok receipts)
    days = {day.day.isoformat(): day for day in insights(TWO_CURRENCIES).last_7_days.days}
    assert days["2024-03-14"].net_receipts == {"CAD": D("30.00"), "USD": D("10.01")}
    assert (days["2024-03-15"].net_receipts, days["2024-03-15"].tiktok_share) == ({}, {"CAD": 0.0, "USD": 0.0})


def test_top_products_rank_by_the_main_currency_first_then_the_others() -> None:
    """Given products sold in USD and CAD, when the top products are ranked, then by sales in the main currency (most
    TikTok orders) first, then in the others; sales stay per currency."""
    # given P1 sold for USD 20.00 and P2 for USD 10.00 and CAD 30.00; USD has the most TikTok orders (2 of 3)
    top = insights(TWO_CURRENCIES).last_7_days.top_products
    # then USD (the main currency) ranks first: P1 (USD 20.00) before P2 (USD 10.00), whatever P2 made in CAD
    assert [(p.product_id, p.units, p.sales) for p in top] == [
        ("P1", 1, usd("20.00")),
        ("P2", 2, {"CAD": D("30.00"), "USD": D("10.00")}),
    ]
    # and with CAD the main currency, P2 (CAD 30.00) ranks before P1 (no CAD)
    sold = {"P1": {"units": D(1), "sales#USD": D("20")}, "P2": {"units": D(2), "sales#USD": D(10), "sales#CAD": D(30)}}
    product_days = {"2024-03-13": sold}
    ranked = top_products(product_days, {}, d("2024-03-13"), d("2024-03-13"), currencies=["CAD", "USD"])
    assert [p.product_id for p in ranked] == ["P2", "P1"]


def test_counters_written_before_currencies_are_read_as_usd() -> None:
    """Given a counter with bare amounts and counts from before currencies beside per-currency ones, when read, then the
    bare amount and the orders without a per-currency count are USD's (models.Order's default then)."""
    # given an `orders` counter holding 3 TikTok orders: 2 counted before currencies (bare `net` 50.00 and only the
    # bare count) and 1 CAD order counted since (orders#CAD, net#CAD)
    fields = {"orders": D(3), "net": D("50.00"), "orders#CAD": D(1), "net#CAD": D("12.00")}
    report = build_insights(
        time_zone=ZONE,
        today=TODAY,
        all_time_orders={"tiktok_shop": fields},
        all_time_customers={},
        order_days={},
        customer_days={},
        product_days={},
        product_names={},
        last_days=last_full_days(TODAY),
        weeks=week_starts(TODAY),
    )
    # then the bare amount and the 2 orders without a currency are USD's: USD 50.00 over 2 orders, CAD 12.00 over 1
    assert report.all_time.net_receipts == {"CAD": D("12.00"), "USD": D("50.00")}
    assert report.all_time.average_order_value == {"CAD": D("12.00"), "USD": D("25.00")}
