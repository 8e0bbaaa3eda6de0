"""TikTok Shop insights assembled from counter values already read: all time, the last 7 full days, whole weeks.

Pure: the service decides what to read with `last_full_days` and `week_starts`, reads the counter items, and hands
their values to `build_insights`. Every figure is TikTok Shop only, except all stores' net receipts and TikTok's
share of them. Money is per currency (ordertrail.money): net receipts, average order value, all stores' net receipts,
TikTok's share and product sales are maps by currency code, each currency divided only by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ordertrail.core import money
from ordertrail.core.conversions import minor_units
from ordertrail.core.report_models import DayFigures, Figures, InsightsReport, LastDays, ProductRow, ReportRange, WeekFigures, WeekRange
from ordertrail.tally.counters import OTHER_PRODUCTS
from ordertrail.tally.customers import TIKTOK_SHOP, new_customers, unique_customers
from ordertrail.tally.periods import days_between

ZERO = Decimal(0)

Fields = Mapping[str, Decimal]
OrderDays = Mapping[str, Mapping[str, Fields]]  # day → source → fields of dimension "orders"
CustomerDays = Mapping[str, Fields]  # day → fields of dimension "customers", id "tiktok_shop"
ProductDays = Mapping[str, Mapping[str, Fields]]  # day → product id → fields of dimension "product"


def build_insights(
    *,
    time_zone: str,
    today: date,
    all_time_orders: Mapping[str, Fields],
    all_time_customers: Fields,
    order_days: OrderDays,
    customer_days: CustomerDays,
    product_days: ProductDays,
    product_names: Mapping[str, str],
    last_days: tuple[date, date],
    weeks: list[date],
    top: int = 10,
) -> InsightsReport:
    """The insights report from counter values: all-time (ALL items), the last days with a daily series, the weeks.

    all_time_orders: source → fields of the ALL item of dimension "orders"; all_time_customers: fields of the ALL
    item of dimension "customers". Days missing from the day mappings had no orders.
    """
    if not weeks:
        raise ValueError("at least one week is needed")
    customers = int(all_time_customers.get("customers", ZERO))
    all_time = _figures(
        all_time_orders,
        customers=customers,
        new=customers,  # over all time, every customer's first order is in the period
        repeat=int(all_time_customers.get("repeat", ZERO)),
    )
    first, last = last_days
    daily = [
        DayFigures.model_validate({**_period(order_days, customer_days, day, day).model_dump(), "day": day})
        for day in (date.fromisoformat(text) for text in days_between(first, last))
    ]
    last_7 = LastDays(
        range=_range(first, last, time_zone),
        totals=_period(order_days, customer_days, first, last),
        days=daily,
        top_products=top_products(product_days, product_names, first, last, top, _currencies(order_days, first, last)),
    )
    weekly_series = [
        WeekFigures.model_validate({**_period(order_days, customer_days, start, end).model_dump(), "week_start": start, "week_end": end})
        for start, end in ((start, start + timedelta(days=6)) for start in weeks)
    ]
    weeks_first, weeks_last = weeks[0], weeks[-1] + timedelta(days=6)
    in_weeks = _currencies(order_days, weeks_first, weeks_last)
    weekly = WeekRange(
        range=_range(weeks_first, weeks_last, time_zone),
        totals=_period(order_days, customer_days, weeks_first, weeks_last),
        weeks=weekly_series,
        top_products=top_products(product_days, product_names, weeks_first, weeks_last, top, in_weeks),
    )
    return InsightsReport(time_zone=time_zone, today=today, all_time=all_time, last_7_days=last_7, weekly=weekly)


def top_products(
    product_days: ProductDays,
    product_names: Mapping[str, str],
    first: date,
    last: date,
    top: int = 10,
    currencies: Sequence[str] = (),
) -> list[ProductRow]:
    """The best-selling products over [first, last], the pooled rest left out.

    Ranked by sales in each of `currencies` in turn (the main currency first), then in any other currency by code,
    then by units, then by id.
    """
    units: dict[str, Decimal] = {}
    sales: dict[str, money.Money] = {}
    for day in days_between(first, last):
        for product, fields in product_days.get(day, {}).items():
            units[product] = units.get(product, ZERO) + fields.get("units", ZERO)
            sales[product] = money.add(sales.get(product, {}), money.amounts(fields, "sales"))
    sold = {product: {code: value for code, value in sales[product].items() if value} for product in units}
    order = [*currencies, *sorted({code for amounts in sold.values() for code in amounts} - set(currencies))]
    ranked = sorted(
        (product for product in units if product != OTHER_PRODUCTS and (units[product] or sold[product])),
        key=lambda product: (*money.descending(sold[product], order), -units[product], product),
    )
    return [
        ProductRow(product_id=product, name=product_names.get(product), units=int(units[product]), sales=sold[product])
        for product in ranked[:top]
    ]


def _sums(order_days: OrderDays, first: date, last: date) -> dict[str, dict[str, Decimal]]:
    """The `orders` counter fields of the days [first, last], summed per source."""
    sums: dict[str, dict[str, Decimal]] = {}
    for day in days_between(first, last):
        for source, fields in order_days.get(day, {}).items():
            slot = sums.setdefault(source, {})
            for name, value in fields.items():
                slot[name] = slot.get(name, ZERO) + value
    return sums


def _currencies(order_days: OrderDays, first: date, last: date) -> list[str]:
    """The currencies of the TikTok Shop orders of [first, last], most orders first (the period's main currency)."""
    return money.currency_order(money.counts(_sums(order_days, first, last).get(TIKTOK_SHOP, {}), "orders"))


def _period(order_days: OrderDays, customer_days: CustomerDays, first: date, last: date) -> Figures:
    """The figures of the days [first, last]: orders summed per source, customers from the gap formula."""
    unique = unique_customers(customer_days, first, last)  # for one day: new + every gap (all ≥ 1) = active
    new = new_customers(customer_days, first, last)
    return _figures(_sums(order_days, first, last), customers=unique, new=new, repeat=unique - new)


def _per_order(amount: Decimal, orders: Decimal, currency: str) -> Decimal:
    """An amount per order, rounded half up to the currency's minor unit."""
    return (amount / orders).quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def _figures(by_source: Mapping[str, Fields], *, customers: int, new: int, repeat: int) -> Figures:
    """TikTok Shop orders, net receipts and AOV, all stores' net receipts and TikTok's share, with the customers given.

    Per currency: AOV divides a currency's net receipts by its own orders, the share a currency's TikTok net receipts
    by every store's in that currency (shown for each currency with net receipts anywhere).
    """
    tiktok = by_source.get(TIKTOK_SHOP, {})
    net = money.reported(tiktok, "net", "orders")
    orders_in = money.counts(tiktok, "orders")
    all_net = money.add(*(money.reported(fields, "net", "orders") for fields in by_source.values()))
    return Figures(
        orders=int(tiktok.get("orders", ZERO)),
        net_receipts=net,
        average_order_value={code: _per_order(amount, orders_in[code], code) for code, amount in net.items() if orders_in.get(code)},
        customers=customers,
        new_customers=new,
        repeat_customers=repeat,
        all_stores_net_receipts=all_net,
        tiktok_share={code: float(net.get(code, ZERO) / amount) for code, amount in all_net.items() if amount},
    )


def _range(first: date, last: date, time_zone: str) -> ReportRange:
    """The report range of the local days [first, last]."""
    return ReportRange(from_=first, to=last, time_zone=time_zone, days=(last - first).days + 1)
