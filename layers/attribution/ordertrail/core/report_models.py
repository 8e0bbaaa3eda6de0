"""Response bodies of the reports, insights and crossover endpoints (and the data the dashboard draws).

Every amount of money is a map from ISO-4217 currency code to a decimal string, `{"CAD": "12.00", "USD": "93.67"}`
(empty when there is none): amounts in different currencies are never added. Ratios of money (average order value,
TikTok's share) are maps per currency too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ordertrail.core.models import Attribution

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
MoneyMap = dict[CurrencyCode, Decimal]
ShareMap = dict[CurrencyCode, float]
PER_CURRENCY = "per ISO-4217 currency code (decimal strings; never summed across currencies)"


def money_field(description: str) -> Any:
    """A money map field, empty by default, described with what it holds per currency."""
    return Field(default_factory=dict, description=f"{description}, {PER_CURRENCY}")


class ReportRange(BaseModel):
    """The local days a report covers (inclusive) and the zone they are in."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    time_zone: str
    days: int


class AttributedFigures(BaseModel):
    """Orders and revenue credited to something, hard and soft apart; organic orders are never here."""

    orders: int = Field(default=0, description="Hard matches: coupon, conversation, ad click, creator link")
    revenue: MoneyMap = money_field("Order totals of the hard matches")
    soft_pending_orders: int = Field(default=0, description="Soft matches waiting for a person's review")
    soft_pending_revenue: MoneyMap = money_field("Order totals of the soft matches waiting for review")
    soft_confirmed_orders: int = Field(default=0, description="Soft matches a person confirmed")
    soft_confirmed_revenue: MoneyMap = money_field("Order totals of the confirmed soft matches")
    driven_orders: int = Field(default=0, description="Hard + confirmed soft: what OrderTrail says the touchpoints drove")
    driven_revenue: MoneyMap = money_field("revenue + soft_confirmed_revenue")


class PostRow(AttributedFigures):
    """One post: comments received, DMs triggered, orders and revenue attributed."""

    post_id: str
    url: str | None = None
    comments: int = 0
    dms: int = 0


class PostsReport(BaseModel):
    """Posts in the range, sorted (by driven revenue unless asked otherwise)."""

    range: ReportRange
    sort: str
    main_currency: CurrencyCode | None = Field(
        default=None, description="The currency with the most driven orders in the rows; sort=revenue ranks by it first, then by the others"
    )
    rows: list[PostRow]
    total_rows: int = Field(description="Rows before the limit")


class FlowStep(BaseModel):
    """One step of a flow: conversations that reached it, and how many of the previous step's were lost."""

    step: int
    name: str | None = None
    users: int = Field(description="Conversations that reached this step")
    drop_off: float | None = Field(default=None, description="Share of the previous step's users that did not reach this one")
    stands_out: bool = Field(default=False, description="drop_off is at or above the tenant's flow_drop_off_alert")
    orders_at_step: int = Field(default=0, description="Driven orders whose conversation had got this far (and no further)")


class FlowRow(AttributedFigures):
    """One DM flow: conversations started, users per step with drop-off, and orders attributed."""

    flow_id: str
    name: str | None = None
    dms: int = 0
    steps: list[FlowStep] = Field(default_factory=list)


class FlowsReport(BaseModel):
    """Flows in the range."""

    range: ReportRange
    sort: str
    main_currency: CurrencyCode | None = Field(
        default=None, description="The currency with the most driven orders in the rows; sort=revenue ranks by it first, then by the others"
    )
    rows: list[FlowRow]
    total_rows: int


class KeywordRow(AttributedFigures):
    """One trigger keyword: fires (comments carrying it), DMs, orders and revenue."""

    keyword: str
    fires: int = 0
    dms: int = 0
    never_sells: bool = Field(default=False, description="Fired at least dead_keyword_min_fires times and sold nothing (not even soft)")


class KeywordsReport(BaseModel):
    """Keywords in the range, ranked by driven revenue unless asked otherwise."""

    range: ReportRange
    sort: str
    main_currency: CurrencyCode | None = Field(
        default=None, description="The currency with the most driven orders in the rows; sort=revenue ranks by it first, then by the others"
    )
    rows: list[KeywordRow]
    total_rows: int
    never_sells_min_fires: int


class CreatorRow(AttributedFigures):
    """One creator: link clicks, orders and revenue."""

    creator: str
    clicks: int = 0


class CreatorsReport(BaseModel):
    """Creators in the range."""

    range: ReportRange
    sort: str
    main_currency: CurrencyCode | None = Field(
        default=None, description="The currency with the most driven orders in the rows; sort=revenue ranks by it first, then by the others"
    )
    rows: list[CreatorRow]
    total_rows: int


class CouponRow(AttributedFigures):
    """One coupon code: orders and revenue."""

    coupon: str


class CouponsReport(BaseModel):
    """Coupon codes in the range."""

    range: ReportRange
    sort: str
    main_currency: CurrencyCode | None = Field(
        default=None, description="The currency with the most driven orders in the rows; sort=revenue ranks by it first, then by the others"
    )
    rows: list[CouponRow]
    total_rows: int


class ModelCredit(BaseModel):
    """What one credit model gives a channel value (or a whole dimension): orders and revenue."""

    orders: Decimal = Field(
        default=Decimal(0), description="Orders credited, to 1/10,000 of an order: a model that splits an order credits fractions"
    )
    revenue: MoneyMap = money_field("Revenue credited")


class ChannelCredit(BaseModel):
    """The credit of every model side by side (docs/attribution.md#credit-models), over the same orders and lookback."""

    first_touch: ModelCredit = Field(default_factory=ModelCredit)
    last_touch: ModelCredit = Field(default_factory=ModelCredit)
    linear: ModelCredit = Field(default_factory=ModelCredit)
    participation: ModelCredit = Field(default_factory=ModelCredit, description="Every value touched gets the whole order")
    u_shaped: ModelCredit = Field(default_factory=ModelCredit)
    time_decay: ModelCredit = Field(default_factory=ModelCredit, description="A touch half_life_days older weighs half as much")


class ChannelRow(ChannelCredit):
    """One channel value (a post, flow, keyword, creator, coupon or ad campaign) and what each model credits it."""

    value: str = Field(description="The post id, flow id, keyword, creator, coupon code or ad campaign id; `(other)` pools the rest")
    label: str | None = Field(default=None, description="The post's URL, the flow's or the campaign's name")
    credited_by: list[str] = Field(default_factory=list, description="The models that credit this value at least one order share")
    only_model: str | None = Field(default=None, description="Set when exactly one model credits this value: it stands out")


class ChannelsReport(BaseModel):
    """Every credit model per value of one channel dimension, over the orders that had a touch there (docs/reports.md#channels)."""

    range: ReportRange
    dimension: str
    sort: str = Field(description="The model whose credited orders rank the rows")
    lookback_days: int = Field(description="The export's lookback now: orders keep the lookback they were attributed with")
    half_life_days: int = Field(description="Time decay's half-life")
    orders: int = Field(description="Orders in the range with at least one eligible touch in this dimension: what every model shares")
    revenue: MoneyMap = money_field("Those orders' totals")
    totals: ChannelCredit = Field(description="Each model's credit over every value (a normalised model's orders add up to `orders`)")
    rows: list[ChannelRow]
    total_rows: int = Field(description="Rows before the limit")


class HistogramBucket(BaseModel):
    """Orders whose time-to-order fell in [from_seconds, to_seconds)."""

    label: str
    from_seconds: int
    to_seconds: int | None = Field(default=None, description="None for the last, open-ended bucket")
    orders: int


class WeeklyTimeToOrder(BaseModel):
    """One week (Monday to Sunday, local) of time-to-order, with the change of its median from the week before."""

    week_start: date
    orders: int
    median_seconds: float | None
    change: float | None = Field(default=None, description="(median − last week's median) / last week's median")


class TimeToOrderReport(BaseModel):
    """Time from first touch to order for driven orders (hard + confirmed soft)."""

    range: ReportRange
    orders: int
    mean_seconds: float | None = Field(description="Exact: the sum of times over the count")
    median_seconds: float | None = Field(description="Interpolated within the histogram bucket that holds it")
    p25_seconds: float | None
    p75_seconds: float | None
    histogram: list[HistogramBucket]
    weeks: list[WeeklyTimeToOrder]


class Figures(BaseModel):
    """TikTok Shop orders over a period; cancelled orders and connector copies never count."""

    orders: int = 0
    net_receipts: MoneyMap = money_field("Goods + tax + customer-paid shipping − coupons and credits")
    average_order_value: MoneyMap = money_field("Net receipts per order in that currency, rounded to its minor unit")
    customers: int = Field(default=0, description="Unique TikTok customers with an order in the period")
    new_customers: int = Field(default=0, description="Customers whose first TikTok order ever is in the period")
    repeat_customers: int = Field(default=0, description="Customers in the period who had ordered before it")
    all_stores_net_receipts: MoneyMap = money_field("Net receipts of every store (TikTok + others)")
    tiktok_share: ShareMap = Field(
        default_factory=dict, description="TikTok's share of all stores' net receipts, per currency with any (a number from 0 to 1)"
    )


class DayFigures(Figures):
    """One local day."""

    day: date


class WeekFigures(Figures):
    """One local week, Monday to Sunday."""

    week_start: date
    week_end: date


class ProductRow(BaseModel):
    """A product's units and sales (sale price × units) on TikTok Shop."""

    product_id: str
    name: str | None = None
    units: int
    sales: MoneyMap = money_field("Sale price × units")


class LastDays(BaseModel):
    """The last 7 full days (today's partial day excluded), with a daily series."""

    range: ReportRange
    totals: Figures
    days: list[DayFigures]
    top_products: list[ProductRow]


class WeekRange(BaseModel):
    """A range of whole weeks, with a weekly series."""

    range: ReportRange
    totals: Figures
    weeks: list[WeekFigures]
    top_products: list[ProductRow]


class InsightsReport(BaseModel):
    """TikTok Shop insights: all time, the last 7 full days, and a range of whole weeks."""

    time_zone: str
    today: date
    all_time: Figures
    last_7_days: LastDays
    weekly: WeekRange


class CrossoverWeek(BaseModel):
    """One week of crossover: customers who crossed in it, and the cumulative totals at its end."""

    week_start: date
    crossed: int
    sourced: int
    cumulative_crossed: int
    cumulative_sourced: int
    cumulative_share: float | None = Field(description="cumulative_crossed / cumulative_sourced")


class CrossoverBreakdown(BaseModel):
    """Crossover customers by how many orders they placed at other stores."""

    other_orders: str = Field(description="1, 2, 3, 4 or 5+")
    customers: int


class CrossoverCustomer(BaseModel):
    """One customer who first bought on TikTok Shop and later elsewhere (matched on a hashed address key)."""

    address_key: str = Field(description="The first 16 hex digits of the tenant-salted address hash")
    tiktok_customer_id: str | None = None
    name: str | None = None
    first_tiktok_order_at: datetime
    first_other_order_at: datetime
    tiktok_orders: int
    other_orders: int
    other_net_receipts: MoneyMap = money_field("Net receipts of the other-store orders")


class CrossoverReport(BaseModel):
    """Customers TikTok Shop brought who then bought at the seller's other stores."""

    time_zone: str
    sourced_customers: int = Field(description="Addresses whose first order was a TikTok Shop order")
    crossover_customers: int = Field(description="Sourced customers with a later order at another store")
    crossover_share: float | None
    non_crossover_share: float | None
    other_net_receipts: MoneyMap = money_field("Crossover customers' net receipts at other stores, after their first TikTok order")
    weeks: list[CrossoverWeek]
    breakdown: list[CrossoverBreakdown]
    customers: list[CrossoverCustomer]


class DownloadLink(BaseModel):
    """Where a large CSV download can be fetched (a presigned S3 link)."""

    url: str
    expires_in_seconds: int
    rows: int


class DashboardLink(BaseModel):
    """A signed link that opens the tenant's dashboard in a browser, without a key, until it expires."""

    path: str = Field(description="Append to the API's base URL: /v1/{tenant}/dashboard?link=...")
    expires_at: datetime


class DashboardData(BaseModel):
    """Everything the dashboard draws, read through the same functions as the report endpoints."""

    tenant: str
    generated_at: datetime
    posts: PostsReport
    flows: FlowsReport
    keywords: KeywordsReport
    creators: CreatorsReport
    channels: ChannelsReport
    time_to_order: TimeToOrderReport
    insights: InsightsReport
    crossover: CrossoverReport
    pending_reviews: list[Attribution]
