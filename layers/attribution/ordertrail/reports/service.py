"""The reports: read daily counters for the days asked (never orders, never a Scan) and shape them into report rows.

Revenue is per currency (ordertrail.money). `sort=revenue` ranks rows by driven revenue in the main currency (the one
with the most driven orders among the report's rows over the range; ties by code), then in each other currency by
code, then by id: never by a sum across currencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ordertrail.core import money
from ordertrail.core.credit import CREDIT_MODELS, DEFAULT_HALF_LIFE
from ordertrail.core.errors import Unprocessable
from ordertrail.core.report_models import (
    AttributedFigures,
    ChannelCredit,
    ChannelRow,
    ChannelsReport,
    CouponRow,
    CouponsReport,
    CreatorRow,
    CreatorsReport,
    CrossoverReport,
    DashboardData,
    FlowRow,
    FlowsReport,
    FlowStep,
    InsightsReport,
    KeywordRow,
    KeywordsReport,
    ModelCredit,
    PostRow,
    PostsReport,
    ReportRange,
    TimeToOrderReport,
)
from ordertrail.reports import crossover, insights
from ordertrail.tally import channels, counters, periods, time_to_order
from ordertrail.tally.periods import today_in

if TYPE_CHECKING:
    from ordertrail.core.tenant_settings import TenantSettings
    from ordertrail.storage.repository import Repository

DEFAULT_DAYS = 30
# The longest range a report reads (days): a report costs one request per day, and a Lambda has 10 seconds.
MAX_DAYS = 366
# No report reaches before this day (windows and weeks are subtracted from it; nothing was sold through OrderTrail before).
EARLIEST_DAY = date(2000, 1, 1)
SOURCES = ("tiktok_shop", "shopify", "other")
Sort = Literal["revenue", "orders", "comments", "dms", "fires", "clicks"]
SORT_FIELDS: dict[str, str] = {
    "revenue": "driven_revenue",
    "orders": "driven_orders",
    "comments": "comments",
    "dms": "dms",
    "fires": "fires",
    "clicks": "clicks",
}
Row = TypeVar("Row", bound=AttributedFigures)


@dataclass
class Summed:
    """One id's counters summed over the days asked, with its latest labels."""

    values: dict[str, Decimal] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def number(self, name: str) -> int:
        """A count field as an int (0 when never counted)."""
        return int(self.values.get(name, 0))


@dataclass(frozen=True)
class Period:
    """The local days one report covers."""

    first: date
    last: date
    time_zone: str

    @property
    def days(self) -> list[str]:
        """Every day of the period, `yyyy-mm-dd`."""
        return periods.days_between(self.first, self.last)

    def as_range(self) -> ReportRange:
        """The period as the reports show it."""
        return ReportRange(from_=self.first, to=self.last, time_zone=self.time_zone, days=len(self.days))


def checked_days(from_: date | None, to: date | None, today: date) -> None:
    """Refuse days no report can hold: before EARLIEST_DAY, or after tomorrow (a zone ahead of the tenant's)."""
    for name, day in (("from", from_), ("to", to)):
        if day is not None and not EARLIEST_DAY <= day <= today + timedelta(days=1):
            raise Unprocessable(f"`{name}` must be a day from {EARLIEST_DAY} to tomorrow", field=name, code="invalid_range")


def period(settings: TenantSettings, from_: date | None, to: date | None, now: datetime) -> Period:
    """The days asked for (default: the last 30 days up to today), refused when backwards or longer than a year."""
    today = today_in(settings.time_zone, now)
    checked_days(from_, to, today)
    last = to or today
    first = from_ or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Unprocessable("from must not be after to", field="from", code="invalid_range")
    if (last - first).days + 1 > MAX_DAYS:
        raise Unprocessable(f"a report covers at most {MAX_DAYS} days", field="from", code="range_too_long")
    return Period(first, last, settings.time_zone)


def summed(repo: Repository, tenant: str, dimension: str, days: Sequence[str]) -> dict[str, Summed]:
    """Every id's counters of a dimension summed over the days: one Query per day."""
    rows: dict[str, Summed] = {}
    # Days in order, so the latest day's labels (a post's URL, a flow's name) win.
    for _day, items in sorted(repo.counters_on_days(tenant, dimension, days).items()):
        for item in items:
            row = rows.setdefault(item.id, Summed())
            for name, value in item.values.items():
                row.values[name] = row.values.get(name, Decimal(0)) + Decimal(value)
            row.labels.update(item.labels)
    return rows


def attributed_figures(row: Summed) -> dict[str, Any]:
    """Hard and soft figures apart, and driven = hard + confirmed soft (pending soft and organic never drive).

    Revenue is per currency; driven revenue adds hard and confirmed soft currency by currency.
    """
    figures: dict[str, Any] = {
        "orders": row.number("orders"),
        "revenue": money.reported(row.values, "revenue", "orders"),
        "soft_pending_orders": row.number("soft_pending_orders"),
        "soft_pending_revenue": money.reported(row.values, "soft_pending_revenue", "soft_pending_orders"),
        "soft_confirmed_orders": row.number("soft_confirmed_orders"),
        "soft_confirmed_revenue": money.reported(row.values, "soft_confirmed_revenue", "soft_confirmed_orders"),
    }
    figures["driven_orders"] = figures["orders"] + figures["soft_confirmed_orders"]
    figures["driven_revenue"] = money.add(figures["revenue"], figures["soft_confirmed_revenue"])
    return figures


def driven_currencies(rows: Iterable[Summed]) -> list[str]:
    """The currencies the rows have driven orders in, the main one first.

    By driven orders (hard + confirmed soft) summed over the rows, most first, ties by code.
    """
    counted = money.add(*(money.add(money.counts(r.values, "orders"), money.counts(r.values, "soft_confirmed_orders")) for r in rows))
    return money.currency_order(counted)


def _ranking(
    days: Period, found: Mapping[str, Summed], rows: list[Row], sort: str, limit: int, ident: Callable[[Row], str]
) -> dict[str, Any]:
    """What every ranked report carries: its range, sort, main currency, the rows ranked and cut, and how many there were."""
    currencies = driven_currencies(found.values())
    return {
        "range": days.as_range(),
        "sort": sort,
        "main_currency": _main(currencies),
        "rows": _ranked(rows, sort, limit, ident, currencies),
        "total_rows": len(rows),
    }


def _ranked(rows: list[Row], sort: str, limit: int, ident: Callable[[Row], str], currencies: Sequence[str]) -> list[Row]:
    """Rows by the sort field, largest first (ties by id), cut to the limit; revenue compared currency by currency."""
    if sort == "revenue":
        shown = {code for row in rows for code in row.driven_revenue}
        order = [*currencies, *sorted(shown - set(currencies))]
        return sorted(rows, key=lambda row: (*money.descending(row.driven_revenue, order), ident(row)))[:limit]
    name = SORT_FIELDS[sort]
    return sorted(rows, key=lambda row: (-getattr(row, name), ident(row)))[:limit]


def _main(currencies: Sequence[str]) -> str | None:
    """The main currency of a ranking (None when no row has a driven order)."""
    return currencies[0] if currencies else None


def _check_sort(sort: str, allowed: tuple[str, ...]) -> None:
    """Refuse a sort this report has no column for."""
    if sort not in allowed:
        raise Unprocessable(f"sort must be one of {', '.join(allowed)}", field="sort", code="invalid_value")


def posts_report(repo: Repository, tenant: str, from_: date | None, to: date | None, sort: str, limit: int, now: datetime) -> PostsReport:
    """Per post: comments received, DMs triggered, orders and revenue attributed (hard and soft apart)."""
    _check_sort(sort, ("revenue", "orders", "comments", "dms"))
    days = period(repo.get_tenant_settings(tenant), from_, to, now)
    found = summed(repo, tenant, "post", days.days)
    rows = [
        PostRow(post_id=ident, url=row.labels.get("url"), comments=row.number("comments"), dms=row.number("dms"), **attributed_figures(row))
        for ident, row in found.items()
    ]
    return PostsReport(
        **_ranking(days, found, rows, sort, limit, lambda r: r.post_id),
    )


def flows_report(repo: Repository, tenant: str, from_: date | None, to: date | None, sort: str, limit: int, now: datetime) -> FlowsReport:
    """Per flow: conversations started, users at each step with the drop-off between steps, orders attributed."""
    _check_sort(sort, ("revenue", "orders", "dms"))
    settings = repo.get_tenant_settings(tenant)
    days = period(settings, from_, to, now)
    found = summed(repo, tenant, "flow", days.days)
    rows = [
        FlowRow(
            flow_id=ident,
            name=row.labels.get("name"),
            dms=row.number("dms"),
            steps=flow_steps(row, settings.reports.flow_drop_off_alert),
            **attributed_figures(row),
        )
        for ident, row in found.items()
    ]
    return FlowsReport(
        **_ranking(days, found, rows, sort, limit, lambda r: r.flow_id),
    )


def flow_steps(row: Summed, alert: float) -> list[FlowStep]:
    """Steps 1..deepest with users, drop-off from the step before, and whether the loss stands out."""
    numbers = [int(name.split("#", 1)[1]) for name in (*row.values, *row.labels) if name.split("#", 1)[0] in ("step", "orders_at_step")]
    steps: list[FlowStep] = []
    previous: int | None = None
    for step in range(1, max(numbers, default=0) + 1):
        users = row.number(f"step#{step}")
        drop_off = round(1 - users / previous, 4) if previous else None
        driven_here = row.number(f"orders_at_step#{step}") + row.number(f"soft_confirmed_orders_at_step#{step}")
        steps.append(
            FlowStep(
                step=step,
                name=row.labels.get(f"step_name#{step}"),
                users=users,
                drop_off=drop_off,
                stands_out=drop_off is not None and drop_off >= alert,
                orders_at_step=driven_here,
            )
        )
        previous = users
    return steps


def keywords_report(
    repo: Repository, tenant: str, from_: date | None, to: date | None, sort: str, limit: int, now: datetime
) -> KeywordsReport:
    """Per keyword: fires, DMs, orders, revenue; ranked by revenue; flags keywords that fire often and never sell."""
    _check_sort(sort, ("revenue", "orders", "fires", "dms"))
    settings = repo.get_tenant_settings(tenant)
    days = period(settings, from_, to, now)
    threshold = settings.reports.dead_keyword_min_fires
    rows = []
    found = summed(repo, tenant, "keyword", days.days)
    for ident, row in found.items():
        figures = attributed_figures(row)
        sold = figures["orders"] + figures["soft_pending_orders"] + figures["soft_confirmed_orders"]
        fires = row.number("fires")
        rows.append(KeywordRow(keyword=ident, fires=fires, dms=row.number("dms"), never_sells=fires >= threshold and sold == 0, **figures))
    return KeywordsReport(
        **_ranking(days, found, rows, sort, limit, lambda r: r.keyword),
        never_sells_min_fires=threshold,
    )


def creators_report(
    repo: Repository, tenant: str, from_: date | None, to: date | None, sort: str, limit: int, now: datetime
) -> CreatorsReport:
    """Per creator: link clicks, orders and revenue (creator links and their mapped coupons)."""
    _check_sort(sort, ("revenue", "orders", "clicks"))
    days = period(repo.get_tenant_settings(tenant), from_, to, now)
    found = summed(repo, tenant, "creator", days.days)
    rows = [CreatorRow(creator=ident, clicks=row.number("clicks"), **attributed_figures(row)) for ident, row in found.items()]
    return CreatorsReport(
        **_ranking(days, found, rows, sort, limit, lambda r: r.creator),
    )


def coupons_report(
    repo: Repository, tenant: str, from_: date | None, to: date | None, sort: str, limit: int, now: datetime
) -> CouponsReport:
    """Per coupon code: orders and revenue."""
    _check_sort(sort, ("revenue", "orders"))
    days = period(repo.get_tenant_settings(tenant), from_, to, now)
    found = summed(repo, tenant, "coupon", days.days)
    rows = [CouponRow(coupon=ident, **attributed_figures(row)) for ident, row in found.items()]
    return CouponsReport(
        **_ranking(days, found, rows, sort, limit, lambda r: r.coupon),
    )


def channels_report(
    repo: Repository, tenant: str, dimension: str, from_: date | None, to: date | None, sort: str, limit: int, now: datetime
) -> ChannelsReport:
    """Per value of a channel dimension: the orders and revenue each of the six credit models gives it, side by side.

    Two Queries per day: the dimension's counters and the orders it credits (docs/reports.md#channels).
    """
    if dimension not in channels.CHANNEL_DIMENSIONS:
        raise Unprocessable(f"dimension must be one of {', '.join(channels.CHANNEL_DIMENSIONS)}", field="dimension", code="invalid_value")
    if sort not in CREDIT_MODELS:
        raise Unprocessable(f"sort must be one of {', '.join(CREDIT_MODELS)}", field="sort", code="invalid_value")
    settings = repo.get_tenant_settings(tenant)
    days = period(settings, from_, to, now)
    found = summed(repo, tenant, dimension, days.days)
    scope = summed(repo, tenant, channels.CHANNEL_ORDERS, days.days).get(dimension, Summed())
    rows = [_channel_row(ident, row) for ident, row in found.items() if any(name.startswith("credit_") for name in row.values)]
    ranked = sorted(rows, key=lambda r: (-getattr(r, sort).orders, r.value))[:limit]
    totals = {model: _model_credit(Summed(_summed_credit(found.values(), model)), model) for model in CREDIT_MODELS}
    return ChannelsReport(
        range=days.as_range(),
        dimension=dimension,
        sort=sort,
        lookback_days=settings.export.lookback_days,
        half_life_days=DEFAULT_HALF_LIFE.days,
        orders=scope.number("orders"),
        revenue=money.reported(scope.values, "revenue", "orders"),
        totals=ChannelCredit(**totals),
        rows=ranked,
        total_rows=len(rows),
    )


def _model_credit(row: Summed, model: str) -> ModelCredit:
    """One model's credit out of summed counters (revenue per currency, only the currencies it credited)."""
    orders = row.values.get(channels.orders_field(model), Decimal(0))
    prefix = channels.revenue_field(model, "")
    revenue = {name[len(prefix) :]: value for name, value in sorted(row.values.items()) if name.startswith(prefix) and value}
    return ModelCredit(orders=orders, revenue=revenue)


def _summed_credit(rows: Iterable[Summed], model: str) -> dict[str, Decimal]:
    """One model's credit fields added over every value."""
    total: dict[str, Decimal] = {}
    wanted = (channels.orders_field(model), channels.revenue_field(model, ""))
    for row in rows:
        for name, value in row.values.items():
            if name == wanted[0] or name.startswith(wanted[1]):
                total[name] = total.get(name, Decimal(0)) + value
    return total


def _channel_row(ident: str, row: Summed) -> ChannelRow:
    """One value's row: each model's credit, which models credit it, and the model that alone does (if one)."""
    credit = {model: _model_credit(row, model) for model in CREDIT_MODELS}
    credited_by = [model for model in CREDIT_MODELS if credit[model].orders > 0]
    only = credited_by[0] if len(credited_by) == 1 else None
    label = row.labels.get("url") or row.labels.get("name")
    return ChannelRow(value=ident, label=label, credited_by=credited_by, only_model=only, **credit)


def time_to_order_report(repo: Repository, tenant: str, from_: date | None, to: date | None, now: datetime) -> TimeToOrderReport:
    """Median, quartiles and histogram of time-to-order over the days, and each week's median with its change."""
    days = period(repo.get_tenant_settings(tenant), from_, to, now)
    # The week before the first one is read too, so the first week has a change to show.
    first_monday = periods.monday(days.first) - timedelta(days=7)
    read = periods.days_between(first_monday, days.last)
    values = {on_day: items.get("all") for on_day, items in repo.counters_for(tenant, "attributed", read, ["all"]).items()}

    def total(first: date, last: date) -> dict[str, Decimal]:
        fields: dict[str, Decimal] = {}
        for on_day in periods.days_between(max(first, first_monday), last):
            item = values.get(on_day)
            for name, value in (item.values if item else {}).items():
                fields[name] = fields.get(name, Decimal(0)) + Decimal(value)
        return fields

    summary = time_to_order.summarise(total(days.first, days.last))
    mondays = [first_monday + timedelta(weeks=n) for n in range((days.last - first_monday).days // 7 + 1)]
    weeks = time_to_order.weekly([(start, total(start, min(start + timedelta(days=6), days.last))) for start in mondays])
    return TimeToOrderReport(
        range=days.as_range(),
        orders=summary.orders,
        mean_seconds=summary.mean,
        median_seconds=summary.median,
        p25_seconds=summary.p25,
        p75_seconds=summary.p75,
        histogram=summary.histogram,
        weeks=weeks[1:],
    )


def insights_report(repo: Repository, tenant: str, weeks: int | None, from_: date | None, to: date | None, now: datetime) -> InsightsReport:
    """TikTok Shop insights: all time, the last 7 full days, and whole weeks (default: the previous 6)."""
    settings = repo.get_tenant_settings(tenant)
    today = today_in(settings.time_zone, now)
    checked_days(from_, to, today)
    last_days = periods.last_full_days(today)
    mondays = periods.week_starts(today, weeks, from_, to)
    # The last 7 days and the weeks asked for, not the span between them: a range years ago reads its own weeks only.
    days = sorted(set(periods.days_between(*last_days)) | set(periods.days_between(mondays[0], mondays[-1] + timedelta(days=6))))
    all_time = repo.counters_for(tenant, "orders", [counters.ALL_TIME], SOURCES)[counters.ALL_TIME]
    customers_all = repo.counters_for(tenant, "customers", [counters.ALL_TIME], ["tiktok_shop"])[counters.ALL_TIME]
    order_days = repo.counters_for(tenant, "orders", days, SOURCES)
    customer_days = repo.counters_for(tenant, "customers", days, ["tiktok_shop"])
    product_days = repo.counters_on_days(tenant, "product", days)
    names = {item.id: item.labels["name"] for items in product_days.values() for item in items if "name" in item.labels}
    return insights.build_insights(
        time_zone=settings.time_zone,
        today=today,
        all_time_orders={source: _numbers(item.values) for source, item in all_time.items()},
        all_time_customers=_numbers(customers_all["tiktok_shop"].values) if "tiktok_shop" in customers_all else {},
        order_days={d: {source: _numbers(item.values) for source, item in items.items()} for d, items in order_days.items()},
        customer_days={d: _numbers(items["tiktok_shop"].values) for d, items in customer_days.items() if "tiktok_shop" in items},
        product_days={d: {item.id: _numbers(item.values) for item in items} for d, items in product_days.items()},
        product_names=names,
        last_days=last_days,
        weeks=mondays,
    )


def crossover_report(repo: Repository, tenant: str, weeks: int, now: datetime) -> CrossoverReport:
    """Customers TikTok Shop brought who later bought at another store: totals, weekly cumulative series, breakdown, list."""
    settings = repo.get_tenant_settings(tenant)
    today = today_in(settings.time_zone, now)
    mondays = periods.weeks_back(today, weeks)
    days = periods.days_between(mondays[0], max(today, mondays[-1] + timedelta(days=6)))
    day_items = repo.counters_for(tenant, "crossover", days, ["all"])
    all_time = repo.counters_for(tenant, "crossover", [counters.ALL_TIME], ["all"])[counters.ALL_TIME]
    people = [c for c in (crossover.crossover_customer(p) for p in repo.crossover_profiles(tenant)) if c is not None]
    return crossover.crossover_report(
        time_zone=settings.time_zone,
        all_time=_numbers(all_time["all"].values) if "all" in all_time else {},
        days={d: _numbers(items["all"].values) for d, items in day_items.items() if "all" in items},
        week_starts=mondays,
        today=today,
        customers=people,
    )


def dashboard_data(repo: Repository, tenant: str, now: datetime) -> DashboardData:
    """Everything the dashboard draws, read through the same functions (and defaults) as the report endpoints."""
    return DashboardData(
        tenant=tenant,
        generated_at=now,
        posts=posts_report(repo, tenant, None, None, "revenue", 10, now),
        flows=flows_report(repo, tenant, None, None, "revenue", 10, now),
        keywords=keywords_report(repo, tenant, None, None, "revenue", 10, now),
        creators=creators_report(repo, tenant, None, None, "revenue", 10, now),
        channels=channels_report(repo, tenant, "post", None, None, "linear", 10, now),
        time_to_order=time_to_order_report(repo, tenant, None, None, now),
        insights=insights_report(repo, tenant, None, None, None, now),
        crossover=crossover_report(repo, tenant, periods.CROSSOVER_WEEKS, now),
        pending_reviews=repo.list_reviews(tenant, "pending", 50),
    )


def _numbers(values: Mapping[str, Any]) -> dict[str, Decimal]:
    """Counter fields as Decimals."""
    return {name: Decimal(value) for name, value in values.items()}
