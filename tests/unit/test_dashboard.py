"""The dashboard page (ordertrail.dashboard) against hand-made DashboardData.

Each test reads given / when / then. The page is parsed back with html.parser, so what is asserted is what a browser
(or a test holding the page against the API) reads: every `data-figure` element's `data-value` must equal the value
at that path in the model's JSON, exactly as the API shows it (decimals as strings, numbers as JSON numbers).

The no-outside-references rule: the page loads nothing and links nowhere. No attribute value contains "://"
(so no src/href/action to another origin; the only hrefs are "#section" links), the CSS has no url() or @import,
and there is no <script>, <link>, <img>, <iframe> or <object>. A URL may appear only as escaped TEXT, and only
when it is user data (a post's URL is shown, not linked): with no user URLs in the data, "://" is not in the page.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from ordertrail.core.models import Attribution, Flow, Post
from ordertrail.core.report_models import (
    ChannelCredit,
    ChannelRow,
    ChannelsReport,
    CreatorRow,
    CreatorsReport,
    CrossoverBreakdown,
    CrossoverCustomer,
    CrossoverReport,
    CrossoverWeek,
    DashboardData,
    DayFigures,
    Figures,
    FlowRow,
    FlowsReport,
    FlowStep,
    InsightsReport,
    KeywordRow,
    KeywordsReport,
    LastDays,
    ModelCredit,
    PostRow,
    PostsReport,
    ProductRow,
    ReportRange,
    TimeToOrderReport,
    WeekFigures,
    WeekRange,
)
from ordertrail.reports.dashboard.charts import fmt
from ordertrail.reports.dashboard.page import render
from ordertrail.tally import time_to_order

TODAY = date(2025, 6, 16)  # a Monday
ZONE = "America/New_York"
POST_URL = "https://www.tiktok.com/@glowhouse/video/7380000000000000001"
NASTY = '<script>alert("x")</script> & "quoted" \'single\''


# ------------------------------------------------------------------------------------------------ builders
def span(first: date, last: date) -> ReportRange:
    return ReportRange.model_validate({"from": first, "to": last, "time_zone": ZONE, "days": (last - first).days + 1})


def figures(orders: int, net: str, all_stores: str, customers: int, new: int, cad: tuple[int, str, str] | None = None) -> Figures:
    """Insights figures in USD, plus (orders, net, all stores) in CAD when given: every amount a map per currency."""
    per_currency = {"USD": (orders - (cad[0] if cad else 0), Decimal(net), Decimal(all_stores))}
    if cad:
        per_currency["CAD"] = (cad[0], Decimal(cad[1]), Decimal(cad[2]))
    return Figures(
        orders=orders,
        net_receipts={code: net_d for code, (n, net_d, _) in sorted(per_currency.items()) if n or net_d},
        average_order_value={code: (net_d / n).quantize(Decimal("0.01")) for code, (n, net_d, _) in sorted(per_currency.items()) if n},
        customers=customers,
        new_customers=new,
        repeat_customers=customers - new,
        all_stores_net_receipts={code: all_d for code, (_, _, all_d) in sorted(per_currency.items()) if all_d},
        tiktok_share={code: float(net_d / all_d) for code, (_, net_d, all_d) in sorted(per_currency.items()) if all_d},
    )


def insights() -> InsightsReport:
    first_day = TODAY - timedelta(days=7)
    days = [
        DayFigures(
            day=first_day + timedelta(days=n),
            **figures(n, f"{n * 31.5:.2f}", f"{n * 50:.2f}", n, min(n, 1), cad=(1, "40.00", "40.00") if n == 3 else None).model_dump(),
        )
        for n in range(7)  # the first day has no orders: no average order value, no share; day 3 sold in CAD too
    ]
    week_one = TODAY - timedelta(weeks=6)
    weeks = [
        WeekFigures(
            week_start=week_one + timedelta(weeks=n),
            week_end=week_one + timedelta(weeks=n, days=6),
            **figures(10 + 3 * n, f"{(10 + 3 * n) * 29.9:.2f}", f"{(10 + 3 * n) * 45:.2f}", 8 + n, 4).model_dump(),
        )
        for n in range(6)
    ]
    products = [
        ProductRow(product_id="SKU-LIP-01", name="Velvet lip tint", units=14, sales={"CAD": Decimal("24.00"), "USD": Decimal("251.86")}),
        ProductRow(product_id="SKU-BLUSH", name=None, units=5, sales={"USD": Decimal("99.95")}),
    ]
    return InsightsReport(
        time_zone=ZONE,
        today=TODAY,
        all_time=figures(412, "12345.67", "20000.00", 300, 300, cad=(12, "480.00", "900.00")),
        last_7_days=LastDays(
            range=span(first_day, TODAY - timedelta(days=1)),
            totals=figures(28, "882.00", "1400.00", 25, 7, cad=(1, "40.00", "40.00")),
            days=days,
            top_products=products,
        ),
        weekly=WeekRange(
            range=span(week_one, TODAY - timedelta(days=1)),
            totals=figures(105, "3139.50", "4725.00", 70, 24),
            weeks=weeks,
            top_products=products,
        ),
    )


def posts(range_: ReportRange) -> PostsReport:
    rows = [
        PostRow(
            post_id="7380000000000000001",
            url=POST_URL,
            comments=120,
            dms=45,
            orders=10,
            revenue={"CAD": Decimal("35.00"), "USD": Decimal("412.50")},
            soft_pending_orders=2,
            soft_pending_revenue={"USD": Decimal("60.00")},
            soft_confirmed_orders=1,
            soft_confirmed_revenue={"USD": Decimal("30.00")},
            driven_orders=11,
            driven_revenue={"CAD": Decimal("35.00"), "USD": Decimal("442.50")},
        ),
        PostRow(
            post_id="7380000000000000002",
            comments=80,
            dms=20,
            orders=3,
            revenue={"USD": Decimal("98.10")},
            driven_orders=3,
            driven_revenue={"USD": Decimal("98.10")},
        ),
        PostRow(post_id="7380000000000000003", comments=5),
    ]
    return PostsReport(range=range_, sort="revenue", main_currency="USD", rows=rows, total_rows=3)


def flows(range_: ReportRange) -> FlowsReport:
    steps = [
        FlowStep(step=1, name="Welcome", users=200),
        FlowStep(step=2, name="Pick a shade", users=150, drop_off=0.25),
        FlowStep(step=3, name=NASTY, users=40, drop_off=1 - 40 / 150, stands_out=True, orders_at_step=3),
        FlowStep(step=4, name="Checkout link", users=36, drop_off=0.1, orders_at_step=12),
    ]
    row = FlowRow(
        flow_id="flow-shade",
        name="Shade finder",
        dms=200,
        steps=steps,
        orders=14,
        revenue={"USD": Decimal("455.00")},
        driven_orders=15,
        driven_revenue={"USD": Decimal("485.00")},
    )
    return FlowsReport(range=range_, sort="revenue", main_currency="USD", rows=[row, FlowRow(flow_id="flow-empty")], total_rows=2)


def keywords(range_: ReportRange) -> KeywordsReport:
    rows = [
        KeywordRow(
            keyword=f"kw{n}",
            fires=30 - n,
            dms=10,
            orders=1,
            revenue={"USD": Decimal(20 - n)},
            driven_orders=1,
            driven_revenue={"USD": Decimal(20 - n)},
        )
        for n in range(11)
    ]
    rows.insert(
        0,
        KeywordRow(
            keyword="link",
            fires=90,
            dms=60,
            orders=12,
            revenue={"USD": Decimal("380.00")},
            driven_orders=12,
            driven_revenue={"USD": Decimal("380.00")},
        ),
    )
    rows.append(KeywordRow(keyword="<script>price</script>", fires=44, dms=30, never_sells=True))
    return KeywordsReport(range=range_, sort="revenue", main_currency="USD", rows=rows, total_rows=len(rows), never_sells_min_fires=20)


def creators(range_: ReportRange) -> CreatorsReport:
    rows = [
        CreatorRow(
            creator="maya.makeup",
            clicks=310,
            orders=9,
            revenue={"CAD": Decimal("80.00"), "USD": Decimal("260.40")},
            driven_orders=9,
            driven_revenue={"CAD": Decimal("80.00"), "USD": Decimal("260.40")},
        ),
        CreatorRow(creator="glow.with.jo", clicks=45),
    ]
    return CreatorsReport(range=range_, sort="revenue", main_currency="USD", rows=rows, total_rows=2)


def channels(range_: ReportRange) -> ChannelsReport:
    """Two posts under every model: v1 credited by all, v9 (an opener) by first touch alone, so it stands out."""

    def credit(orders: str, usd: str) -> ModelCredit:
        return ModelCredit(orders=Decimal(orders), revenue={"USD": Decimal(usd)} if Decimal(usd) else {})

    v1 = {"first_touch": credit("2", "40.00"), "last_touch": credit("3", "60.00"), "linear": credit("2.5", "50.00")}
    v1 |= {"participation": credit("3", "60.00"), "u_shaped": credit("2.5", "50.00"), "time_decay": credit("2.6667", "53.33")}
    v9 = {"first_touch": credit("1", "20.00")}
    rows = [
        ChannelRow(value="v1", credited_by=list(v1), **v1),
        ChannelRow(value="v<9>", credited_by=["first_touch"], only_model="first_touch", **v9),
    ]
    totals = ChannelCredit(**{m: credit("3", "60.00") for m in v1})
    return ChannelsReport(
        range=range_, dimension="post", sort="linear", lookback_days=7, half_life_days=7, orders=3,
        revenue={"USD": Decimal("60.00")}, totals=totals, rows=rows, total_rows=2,
    )  # fmt: skip


def tto(range_: ReportRange) -> TimeToOrderReport:
    seconds = [120, 400, 900, 1500, 2000, 4000, 7000, 9000, 30000, 90000, 200000, 700000, 3000000]
    fields: dict[str, Decimal] = {"tto_orders": Decimal(len(seconds)), "tto_seconds": Decimal(sum(seconds))}
    for s in seconds:
        fields[time_to_order.bucket_field(s)] = fields.get(time_to_order.bucket_field(s), Decimal(0)) + 1
    summary = time_to_order.summarise(fields)
    week_one = TODAY - timedelta(weeks=4)
    per_week = [{"tto_orders": Decimal(1), "tto#04": Decimal(1)}, {}, {"tto_orders": Decimal(2), "tto#06": Decimal(2)}, fields]
    weeks = time_to_order.weekly([(week_one + timedelta(weeks=n), f) for n, f in enumerate(per_week)])
    return TimeToOrderReport(
        range=range_,
        orders=summary.orders,
        mean_seconds=summary.mean,
        median_seconds=summary.median,
        p25_seconds=summary.p25,
        p75_seconds=summary.p75,
        histogram=summary.histogram,
        weeks=weeks,
    )


def crossover() -> CrossoverReport:
    week_one = TODAY - timedelta(weeks=11)
    weeks = [
        CrossoverWeek(
            week_start=week_one + timedelta(weeks=n),
            crossed=n % 3,
            sourced=4 + n,
            cumulative_crossed=5 + 2 * n,
            cumulative_sourced=40 + 5 * n,
            cumulative_share=(5 + 2 * n) / (40 + 5 * n),
        )
        for n in range(12)
    ]
    customer = CrossoverCustomer(
        address_key="0123456789abcdef",
        tiktok_customer_id="tt-1",
        name=NASTY,
        first_tiktok_order_at=datetime(2025, 5, 1, 12, tzinfo=UTC),
        first_other_order_at=datetime(2025, 5, 9, 12, tzinfo=UTC),
        tiktok_orders=2,
        other_orders=1,
        other_net_receipts={"USD": Decimal("45.10")},
    )
    breakdown = [CrossoverBreakdown(other_orders=k, customers=c) for k, c in (("1", 20), ("2", 6), ("3", 2), ("4", 0), ("5+", 1))]
    return CrossoverReport(
        time_zone=ZONE,
        sourced_customers=95,
        crossover_customers=29,
        crossover_share=29 / 95,
        non_crossover_share=66 / 95,
        other_net_receipts={"CAD": Decimal("120.00"), "USD": Decimal("1830.25")},
        weeks=weeks,
        breakdown=breakdown,
        customers=[customer],
    )


def review(n: int) -> Attribution:
    at = datetime(2025, 6, 15, 18, 30, tzinfo=UTC) + timedelta(minutes=n)
    return Attribution(
        order_id=f"57665368813525{n:04d}",
        source="tiktok_shop",
        method="conversation_soft",
        review_status="pending",
        rule="conversation_soft",
        post=Post(id="7380000000000000001", url=POST_URL),
        comment_text=NASTY,
        flow=Flow(id="flow-shade", name="Shade finder"),
        keywords=["link", "<b>bold</b>"],
        ordered_at=at,
        attributed_at=at,
        revenue=Decimal("30.0000"),
        currency="CAD" if n == 1 else "USD",
    )


def dashboard_data(pending: int = 2) -> DashboardData:
    """A small but complete dashboard: every section has rows, some text is hostile, one step stands out."""
    range_ = span(TODAY - timedelta(days=29), TODAY)
    return DashboardData(
        tenant="demo",
        generated_at=datetime(2025, 6, 16, 13, 5, tzinfo=UTC),
        posts=posts(range_),
        flows=flows(range_),
        keywords=keywords(range_),
        creators=creators(range_),
        channels=channels(range_),
        time_to_order=tto(range_),
        insights=insights(),
        crossover=crossover(),
        pending_reviews=[review(n) for n in range(pending)],
    )


def empty_dashboard() -> DashboardData:
    """A tenant with nothing yet: no rows, zero counts, None where nothing can be computed."""
    range_ = span(TODAY - timedelta(days=29), TODAY)
    summary = time_to_order.summarise({})
    zero = Figures()
    return DashboardData(
        tenant="new-shop",
        generated_at=datetime(2025, 6, 16, 13, 5, tzinfo=UTC),
        posts=PostsReport(range=range_, sort="revenue", rows=[], total_rows=0),
        flows=FlowsReport(range=range_, sort="revenue", rows=[], total_rows=0),
        keywords=KeywordsReport(range=range_, sort="revenue", rows=[], total_rows=0, never_sells_min_fires=20),
        creators=CreatorsReport(range=range_, sort="revenue", rows=[], total_rows=0),
        channels=ChannelsReport(
            range=range_,
            dimension="post",
            sort="linear",
            lookback_days=7,
            half_life_days=7,
            orders=0,
            totals=ChannelCredit(),
            rows=[],
            total_rows=0,
        ),
        time_to_order=TimeToOrderReport(
            range=range_,
            orders=0,
            mean_seconds=None,
            median_seconds=None,
            p25_seconds=None,
            p75_seconds=None,
            histogram=summary.histogram,
            weeks=[],
        ),
        insights=InsightsReport(
            time_zone=ZONE,
            today=TODAY,
            all_time=zero,
            last_7_days=LastDays(range=range_, totals=zero, days=[], top_products=[]),
            weekly=WeekRange(range=range_, totals=zero, weeks=[], top_products=[]),
        ),
        crossover=CrossoverReport(
            time_zone=ZONE,
            sourced_customers=0,
            crossover_customers=0,
            crossover_share=None,
            non_crossover_share=None,
            other_net_receipts={},
            weeks=[],
            breakdown=[],
            customers=[],
        ),
        pending_reviews=[],
    )


# ------------------------------------------------------------------------------------------------ reading the page back
class Page(HTMLParser):
    """The parsed page: elements with their attributes and direct text, text nodes, and what <style> holds."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self.texts: list[str] = []
        self.style = ""
        self._open: list[dict[str, Any]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "br", "rect", "circle", "polyline", "polygon", "line"):
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1]["tag"] == "style":
            self.style += data
            return
        self.texts.append(data)
        if self._open:
            self._open[-1]["text"] += data

    def figures(self) -> list[dict[str, Any]]:
        return [e for e in self.elements if "data-figure" in e["attrs"]]


def walk(doc: Any, path: str) -> Any:
    """The value at `a.b[2].c` in a JSON document (written apart from the renderer's own lookup); an absent member is null."""
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        doc = doc[int(index)] if index else doc.get(key)
        if doc is None:
            return None
    return doc


def as_api_shows(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture(scope="module")
def data() -> DashboardData:
    return dashboard_data()


@pytest.fixture(scope="module")
def html(data: DashboardData) -> str:
    return render(data)


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return Page(html)


# ------------------------------------------------------------------------------------------------ one self-contained page
def test_the_page_is_one_document_with_a_title_headings_and_inline_style(html: str, page: Page) -> None:
    # given a full dashboard, when rendered, then it is one HTML document with a title, one h1 and a heading per section
    assert html.startswith("<!doctype html>") and html.endswith("</html>")
    assert next(e["text"] for e in page.elements if e["tag"] == "title") == "OrderTrail · demo · dashboard"  # the rest are SVG titles
    assert len([e for e in page.elements if e["tag"] == "h1"]) == 1
    headings = [e["text"] for e in page.elements if e["tag"] == "h2"]
    assert headings == [
        "Insights",
        "Posts by driven revenue",
        "DM flow funnels",
        "Keywords",
        "Creators",
        "Credit models side by side",
        "Time to order",
        "Crossover",
        "Soft matches waiting for review",
    ]
    assert page.style.strip()


def test_the_page_loads_nothing_and_links_nowhere(html: str, page: Page) -> None:
    # given a dashboard whose only URLs are a post's (user data), when rendered
    # then nothing is loaded or linked: no script/link/img/iframe/object, no src, no url() in CSS, and hrefs only to
    # sections or to this API's own report CSVs (relative, so they stay on the page's origin and tenant)
    tags = {e["tag"] for e in page.elements}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "form", "base", "video", "audio", "source"}
    for element in page.elements:
        attrs = element["attrs"]
        assert not {"src", "srcset", "action", "xlink:href", "poster", "background"} & attrs.keys(), element
        assert all("://" not in (value or "") for value in attrs.values()), element
        if "href" in attrs:
            href = attrs["href"] or ""
            assert href.startswith("#") or re.fullmatch(r"reports/[a-z-]+\?[^/#]*format=csv[^/#]*", href), element
        assert not any(name.startswith("on") for name in attrs), element
    assert "url(" not in page.style and "@import" not in page.style and "://" not in page.style
    # and "://" appears only as text, and only where the text is the post's URL
    assert {t for t in page.texts if "://" in t} == {POST_URL}
    assert html.count("://") == sum(t.count("://") for t in page.texts)


def test_without_user_urls_no_scheme_appears_at_all() -> None:
    # given a dashboard without any post URL, when rendered, then "http://" and "https://" are nowhere in the page
    data = dashboard_data(pending=0)
    data.posts.rows[0].url = None
    html = render(data)
    assert "://" not in html


def test_a_content_security_policy_forbids_scripts_and_outside_loads(page: Page) -> None:
    # given the page, then its meta CSP allows nothing by default (inline style only)
    csp = [e["attrs"]["content"] for e in page.elements if e["tag"] == "meta" and e["attrs"].get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'") and "script-src" not in csp[0]


def test_user_text_is_escaped(html: str, page: Page) -> None:
    # given a comment, a keyword, a flow step and a crossover name carrying markup, when rendered
    # then no markup from them reaches the page: it is shown as text
    assert "<script" not in html.lower() and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quoted&quot; &#x27;single&#x27;" in html
    assert "&lt;script&gt;price&lt;/script&gt;" in html
    assert NASTY in page.texts  # the review table and the flow step show the comment as the user wrote it
    assert "<script>price</script>" in page.texts and "link, <b>bold</b>" in page.texts


# ------------------------------------------------------------------------------------------------ figures
def test_every_figure_carries_the_models_value_as_the_api_json_shows_it(data: DashboardData, page: Page) -> None:
    # given the model's JSON (what the report endpoints answer), when the page is read back
    # then every data-figure's data-value equals the value at its path, exactly
    doc = data.model_dump(mode="json")
    figures = page.figures()
    assert len(figures) > 150
    for element in figures:
        name, value = element["attrs"]["data-figure"], element["attrs"]["data-value"]
        assert value == as_api_shows(walk(doc, name)), name


def test_the_figures_a_seller_looks_for_are_there(page: Page) -> None:
    # given the full dashboard, then the headline figures are present, with the text printed by the shared formatter
    shown = {e["attrs"]["data-figure"]: (e["attrs"]["data-value"], e["text"]) for e in page.figures() if e["tag"] in ("span", "text")}
    assert shown["insights.all_time.orders"] == ("412", "412")
    assert shown["insights.all_time.net_receipts.USD"] == ("12345.67", "USD 12,345.67")
    assert shown["insights.all_time.net_receipts.CAD"] == ("480.00", "CAD 480.00")
    assert shown["insights.all_time.tiktok_share.USD"][1] == "USD 62%"
    assert shown["insights.last_7_days.totals.average_order_value.USD"] == ("32.67", "USD 32.67")
    assert shown["posts.rows[0].driven_revenue.USD"] == ("442.50", "USD 442.50")
    assert shown["posts.rows[0].driven_revenue.CAD"] == ("35.00", "CAD 35.00")
    assert shown["posts.rows[0].soft_pending_orders"] == ("2", "2")
    assert shown["flows.rows[0].steps[2].drop_off"][1] == "73%"
    assert shown["time_to_order.median_seconds"][1] == fmt(float(shown["time_to_order.median_seconds"][0]), "duration")
    assert shown["crossover.crossover_customers"] == ("29", "29")
    assert shown["crossover.crossover_share"][1] == "31%"
    assert shown["crossover.other_net_receipts.CAD"] == ("120.00", "CAD 120.00")
    assert shown["pending_reviews[0].revenue"] == ("30.0000", "USD 30.00")
    assert shown["pending_reviews[1].revenue"] == ("30.0000", "CAD 30.00")
    assert shown["time_to_order.weeks[3].change"][1].startswith(("+", "−"))


def test_series_points_carry_their_figures(page: Page) -> None:
    # given 7 days and 6 weeks of insights, 12 crossover weeks and 18 histogram buckets
    # then each point of each chart carries its own figure
    names = {e["attrs"]["data-figure"] for e in page.figures()}
    assert {f"insights.last_7_days.days[{d}].orders" for d in range(7)} <= names
    assert {f"insights.weekly.weeks[{w}].tiktok_share.USD" for w in range(6)} <= names
    assert {f"crossover.weeks[{w}].cumulative_share" for w in range(12)} <= names
    assert {f"time_to_order.histogram[{b}].orders" for b in range(len(time_to_order.BUCKET_EDGES))} <= names


def test_a_day_without_orders_is_a_gap_in_the_series_not_a_zero(page: Page) -> None:
    # given a first day with no orders (so no average order value and no TikTok share), when rendered
    names = {e["attrs"]["data-figure"] for e in page.figures()}
    # then its orders are a point at zero, but its average order value and share are not drawn at all
    assert "insights.last_7_days.days[0].orders" in names
    first_day = "insights.last_7_days.days[0]"
    assert not any(name.startswith((f"{first_day}.average_order_value", f"{first_day}.tiktok_share")) for name in names)
    assert {f"insights.last_7_days.days[{d}].average_order_value.USD" for d in range(1, 7)} <= names
    # and the CAD series has a point only on the one day that sold in CAD
    assert {name for name in names if name.startswith("insights.last_7_days.days[") and name.endswith(".net_receipts.CAD")} == {
        "insights.last_7_days.days[3].net_receipts.CAD"
    }


def test_every_money_figure_carries_its_currency_code(page: Page) -> None:
    """Given amounts in USD and CAD across the dashboard, when it is read back, then every money figure is one currency
    (its path ends in the code) and prints the code before the amount; no figure holds a sum of two currencies."""
    money_paths = ("revenue", "net_receipts", "average_order_value", "sales", "tiktok_share")
    checked = 0
    for element in page.figures():
        name, text = element["attrs"]["data-figure"], element["text"]
        last = name.rsplit(".", 1)[-1]
        if element["tag"] not in ("span", "text"):  # a chart's point: its text is its hover title
            assert not last.endswith(money_paths), f"{name} is a money point without a currency"
        elif re.fullmatch(r"[A-Z]{3}", last):
            assert text.startswith(f"{last} "), (name, text)
            checked += 1
        elif name.startswith("pending_reviews"):
            assert re.match(r"(USD|CAD) ", text), (name, text)
        elif last.endswith(money_paths):  # only an empty map (nothing in any currency) is shown whole, as a dash
            assert (element["attrs"]["data-value"], text) == ("{}", "—"), name
    assert checked > 40


BAR = re.compile(r'<svg class="bar (s\d)" role="img" aria-label="([^"]*)"[^>]*><title>[^<]*</title><rect x="0" y="0" width="([\d.]+)"')


def test_a_ranking_gives_each_currency_its_own_bars_and_scale(html: str) -> None:
    """Given a post with USD 442.50 and CAD 35.00 and one with USD 98.10, when the posts are drawn, then USD and CAD are
    two series (two colours), each bar measured against its own currency's largest: both leaders are full length."""
    posts = html[html.index('id="posts"') : html.index('id="flows"')]
    bars = [(series, label.rsplit(": ", 1)[1], float(width)) for series, label, width in BAR.findall(posts)]
    second = pytest.approx(100 * 98.10 / 442.50, abs=0.01)
    assert bars[:3] == [("s0", "USD 442.50", 100.0), ("s1", "CAD 35.00", 100.0), ("s0", "USD 98.10", second)]
    assert "each currency has its own bars and scale" in posts


def test_an_insight_card_draws_one_series_per_currency(html: str) -> None:
    """Given the last 7 days sold in USD every day and in CAD on one day, when the net receipts card is drawn, then it
    shows a figure and a sparkline per currency, never one line through both."""
    labels = re.findall(r'<svg class="spark (s\d)" role="img" aria-label="(Net receipts in [A-Z]{3} per day)', html)
    assert labels == [("s0", "Net receipts in CAD per day"), ("s1", "Net receipts in USD per day")]
    assert "Net receipts per day" not in html


def test_standing_out_steps_and_dead_keywords_are_highlighted(data: DashboardData, html: str) -> None:
    # given a flow step at a 73 % drop-off and a keyword that never sells at rank 13
    # then both rows are highlighted and badged, and the keyword is shown although it is past the top 10
    assert html.count('class="bar-row hot"') == 2
    assert html.count(">big drop-off<") == 1 and html.count(">never sells<") == 1
    assert 'data-figure="keywords.rows[12].fires"' in html
    assert 'data-figure="keywords.rows[10].fires"' not in html  # an ordinary keyword past the top 10 is not


def test_charts_are_accessible_images(page: Page) -> None:
    # given the page, then every SVG is an image with a spoken label
    svgs = [e for e in page.elements if e["tag"] == "svg"]
    assert svgs
    for element in svgs:
        assert element["attrs"].get("role") == "img" and (element["attrs"].get("aria-label") or "").strip(), element


def test_only_the_first_fifty_reviews_are_listed_with_a_count_of_the_rest() -> None:
    # given 53 soft matches waiting, when rendered, then 50 rows are listed and the rest counted
    html = render(dashboard_data(pending=53))
    assert 'data-figure="pending_reviews[49].revenue"' in html and 'data-figure="pending_reviews[50].revenue"' not in html
    assert "Showing the first 50; 3 more are waiting." in html


# ------------------------------------------------------------------------------------------------ nothing yet
def test_an_empty_tenant_gets_friendly_nothing_yet_states() -> None:
    # given a tenant with no data at all, when rendered
    data = empty_dashboard()
    html = render(data)
    page = Page(html)
    # then every section says so in words, and the figures shown still equal the model
    for message in (
        "No TikTok Shop orders yet",
        "No posts yet",
        "No DM flows have started yet",
        "No keywords have fired yet",
        "No creator links clicked yet",
        "No driven orders yet",
        "No customers have come from TikTok Shop yet",
        "Nothing to review",
    ):
        assert message in html, message
    doc = data.model_dump(mode="json")
    for element in page.figures():
        assert element["attrs"]["data-value"] == as_api_shows(walk(doc, element["attrs"]["data-figure"]))
    shown = {e["attrs"]["data-figure"]: (e["attrs"]["data-value"], e["text"]) for e in page.figures()}
    assert shown["insights.all_time.average_order_value"] == ("{}", "—")
    assert shown["insights.all_time.tiktok_share"] == ("{}", "—")


# ------------------------------------------------------------------------------------------------ the shared formatter
@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (1234567, "count", "1,234,567"),
        ("1234.5", "money", "1,234.50"),
        (Decimal("-3.005"), "money", "−3.00"),
        ("0", "money", "0.00"),
        (0.4234, "share", "42%"),
        (0.0412, "share", "4.1%"),
        (0.05, "share", "5%"),
        (1.0, "share", "100%"),
        (0.125, "change", "+12%"),
        (-0.5, "change", "−50%"),
        (0.0, "change", "±0%"),
        (42, "duration", "42 s"),
        (600.4, "duration", "10 min"),
        (3 * 3600 + 300, "duration", "3 h 5 min"),
        (7200, "duration", "2 h"),
        (3590, "duration", "1 h"),
        (86399, "duration", "1 d"),
        (59.6, "duration", "1 min"),
        (2 * 86400 + 4 * 3600, "duration", "2 d 4 h"),
        ("2025-06-02", "date", "Jun 2, 2025"),
        (date(2025, 6, 2), "day", "Jun 2"),
        (None, "money", "—"),
        (None, "duration", "—"),
    ],
)
def test_the_shared_formatter(value: Any, kind: Any, text: str) -> None:
    assert fmt(value, kind) == text


def test_moments_are_shown_in_the_tenants_zone() -> None:
    assert fmt("2025-06-16T13:05:00Z", "datetime", ZONE) == "Jun 16, 2025 09:05"
    assert fmt(datetime(2025, 6, 16, 13, 5, tzinfo=UTC), "datetime", "UTC") == "Jun 16, 2025 13:05"


def test_the_credit_models_are_small_multiples_on_one_scale_and_a_lonely_post_stands_out(html: str, page: Page) -> None:
    """Given two posts under six models, when the page is drawn, then there is one small chart per model with the same
    posts in the same order, every bar has a hover title with its post, model and figure, bars share one scale (v1's
    3 orders under last touch is the longest bar), and v<9>, which only first touch credits, is highlighted."""
    section = html[html.index('<section id="channels"') : html.index("</section>", html.index('<section id="channels"'))]
    assert section.count('<figure class="multiple">') == 6
    for title in ("First touch", "Last touch", "Linear", "Participation", "U-shaped", "Time decay"):
        assert f"<figcaption>{title} · " in section
    assert section.count('<span class="mname">v1</span>') == 6 and section.count('<span class="mname">v&lt;9&gt;</span>') == 6
    assert "<title>v1, Last touch: 3</title>" in section and "<title>v1, Time decay: 2.67</title>" in section
    widths = [float(w) for w in re.findall(r'<rect x="0" y="0" width="([\d.]+)"', section)]
    assert max(widths) == 100.0 and widths.count(100.0) == 2  # last touch and participation: 3 orders, the top of ONE scale
    assert section.count('<li class="mrow hot">') == 6  # v<9> in every panel
    figures = {f["attrs"]["data-figure"]: f["attrs"]["data-value"] for f in page.figures()}
    assert figures["channels.rows[0].time_decay.orders"] == "2.6667" and figures["channels.totals.linear.orders"] == "3"
    assert "dimension=post" in section and "table=values" in section and "table=totals" in section
