"""The seller's dashboard: one self-contained HTML page (inline CSS and SVG, no script, no outside URL) from DashboardData.

Pure: no AWS, no network. Every figure element carries `data-figure` (its path in the report JSON) and `data-value`
(its value as the API's JSON shows it), so a test can hold the page against the report endpoints. Every amount shows
its currency code, one figure per currency, and no chart puts two currencies on one scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from pydantic import BaseModel

from ordertrail.core.credit import CREDIT_MODELS
from ordertrail.core.report_models import (
    ChannelsReport,
    CreatorsReport,
    CrossoverReport,
    DashboardData,
    FlowsReport,
    FlowStep,
    InsightsReport,
    KeywordsReport,
    PostsReport,
    ReportRange,
    TimeToOrderReport,
)
from ordertrail.reports.dashboard.charts import (
    BarRow,
    Datum,
    Kind,
    Panel,
    Sheet,
    bar_rows,
    column_chart,
    empty,
    esc,
    fmt,
    line_chart,
    small_multiples,
    spans,
    sparkline,
)
from ordertrail.reports.report_tables import table_names

TOP_ROWS = 10
# The reports whose sections link their CSV, and the ranked ones among them (their downloads ask for every row).
REPORT_TYPES: dict[str, type[BaseModel]] = {
    "insights": InsightsReport,
    "posts": PostsReport,
    "flows": FlowsReport,
    "keywords": KeywordsReport,
    "creators": CreatorsReport,
    "channels": ChannelsReport,
    "time-to-order": TimeToOrderReport,
    "crossover": CrossoverReport,
}
RANKED = frozenset({"posts", "flows", "keywords", "creators", "channels"})
MODEL_NAMES = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "participation": "Participation",
    "u_shaped": "U-shaped",
    "time_decay": "Time decay",
}
MAX_ROWS = 1000  # the ranked reports' largest `limit`
MAX_REVIEWS = 50
# (field of Figures, card title, kind); money and share figures are maps per currency
METRICS: tuple[tuple[str, str, Kind], ...] = (
    ("orders", "Orders", "count"),
    ("net_receipts", "Net receipts", "money"),
    ("average_order_value", "Average order value", "money"),
    ("customers", "Customers", "count"),
    ("tiktok_share", "TikTok share of all stores", "share"),
)
SECTIONS = (
    ("insights", "Insights"),
    ("posts", "Posts"),
    ("flows", "DM flows"),
    ("keywords", "Keywords"),
    ("creators", "Creators"),
    ("channels", "Credit models"),
    ("time-to-order", "Time to order"),
    ("crossover", "Crossover"),
    ("reviews", "Review"),
)
REVIEW_COLUMNS = ("Order", "Store", "Ordered", "Revenue", "Comment", "Post", "Keywords", "Flow")
STORES = {"tiktok_shop": "TikTok Shop", "shopify": "Shopify", "other": "Other store"}
# What a series point draws when its day or week has nothing in a currency: no net receipts is 0, an average order
# value or a share that cannot be computed is a gap.
ABSENT: dict[str, str | None] = {"net_receipts": "0", "average_order_value": None, "tiktok_share": None}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2430;background:#f4f5f9}
header{background:#14161f;color:#fff;padding:20px 28px 14px}header h1{margin:0;font-size:24px}header p{margin:4px 0 10px;color:#b9bfd0}
nav a{color:#fff;margin-right:14px;font-size:13px;text-decoration:none;opacity:.85}nav a:hover{opacity:1;text-decoration:underline}
main{max-width:1180px;margin:0 auto;padding:8px 20px 40px}
section{background:#fff;border-radius:14px;padding:18px 22px;margin:18px 0;box-shadow:0 1px 3px #0001}
h2{margin:0 0 4px;font-size:20px}h3{margin:16px 0 8px;font-size:16px}h4{margin:0;font-size:13px;color:#5b6275;font-weight:600}
.intro{margin:0 0 10px;color:#5b6275;font-size:13px}.range{font-weight:400;color:#5b6275;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.card{border:1px solid #e6e8ef;border-radius:12px;padding:12px;display:flex;flex-direction:column}
.big{font-size:26px;font-weight:700;margin:2px 0}
.note{font-size:12px;color:#5b6275;margin:0 0 4px}.products{margin:6px 0 0;padding-left:20px;font-size:13px}
.card .big{font-size:22px;overflow-wrap:anywhere}.card{min-width:0}.per-currency+.per-currency{margin-top:8px}
.spark{width:100%;height:40px;display:block;margin-top:auto}.per-currency .spark{margin-top:0}
.spark-line{fill:none;stroke:#25a8b3;stroke-width:2}
.spark-dot{fill:#25a8b3}.spark.s1 .spark-line{stroke:#6c5ce7}.spark.s1 .spark-dot{fill:#6c5ce7}
.spark.s2 .spark-line{stroke:#e67e22}.spark.s2 .spark-dot{fill:#e67e22}.spark.s3 .spark-line{stroke:#2d3436}
.spark.s3 .spark-dot{fill:#2d3436}.bars{list-style:none;margin:0;padding:0}
.bar-row{display:grid;grid-template-columns:minmax(140px,2fr) 3fr 110px;grid-template-areas:"label track value" "label extra extra";
  gap:2px 12px;align-items:center;padding:6px 8px;border-radius:8px}
.bar-row:nth-child(odd){background:#f8f9fc}.bar-label{grid-area:label;min-width:0}.bar-label .name{font-weight:600;overflow-wrap:anywhere}
.sub{display:block;font-size:12px;color:#5b6275;overflow-wrap:anywhere}.bar-track{grid-area:track}
.bar{width:100%;height:14px;display:block;background:#eef0f5;border-radius:3px;margin:2px 0}.bar rect{fill:#25a8b3}
.bar.s1 rect{fill:#6c5ce7}.bar.s2 rect{fill:#e67e22}.bar.s3 rect{fill:#2d3436}
.bar-value{grid-area:value;text-align:right;font-weight:700;font-variant-numeric:tabular-nums}
.bar-value .amount{display:block;line-height:18px;white-space:nowrap}
.bar-extra{grid-area:extra;font-size:12px;color:#5b6275}
.hot{background:#fff1f3 !important}.hot .bar rect{fill:#fe2c55}.hot .extra:first-child{color:#fe2c55;font-weight:700}
.badge{display:inline-block;margin-left:6px;padding:0 7px;border-radius:9px;background:#fe2c55;color:#fff;font-size:11px;font-weight:600}
.flow{border:1px solid #e6e8ef;border-radius:12px;padding:6px 12px 10px;margin:10px 0}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 12px}
.tile{border:1px solid #e6e8ef;border-radius:10px;padding:8px 14px;min-width:140px}.tile .big{font-size:22px}
.chart{width:100%;max-height:230px;display:block}.chart .col{fill:#25a8b3}.chart .val{font-size:11px;fill:#1f2430;font-weight:600}
.chart .axis{font-size:10px;fill:#5b6275}.chart .line{fill:none;stroke:#6c5ce7;stroke-width:2.5}.chart .dot{fill:#6c5ce7}
.chart .base{stroke:#d5d8e2}.up{color:#c0392b}.down{color:#1e8449}
.empty{padding:14px;border:1px dashed #cfd3de;border-radius:10px;color:#5b6275;background:#fafbfd;margin:8px 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceef3;vertical-align:top}th{color:#5b6275;font-weight:600}
th.n,td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.comment{min-width:200px;max-width:360px;overflow-wrap:anywhere}
.downloads{margin:12px 0 0;font-size:12px;color:#5b6275}.downloads a{color:#1f5fbf}
.multiples{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:12px}
.multiple{margin:0;border:1px solid #e6e8ef;border-radius:12px;padding:8px 10px}.multiple figcaption{font-weight:600;font-size:13px}
.mrows{list-style:none;margin:4px 0 0;padding:0}
.mrow{display:grid;grid-template-columns:minmax(60px,1fr) 2fr auto;gap:6px;align-items:center;font-size:12px}
.mname{overflow-wrap:anywhere}.mvalue{font-variant-numeric:tabular-nums;text-align:right}
.mrow.hot{background:#fff1f3}.mrow.hot .bar rect{fill:#fe2c55}
.post{max-width:220px;overflow-wrap:anywhere;font-size:12px}footer{color:#5b6275;font-size:12px;text-align:center;padding:0 0 30px}
@media (max-width:700px){main{padding:4px 8px 30px}section{padding:14px 12px}header{padding:16px 14px 10px}
  .bar-row{grid-template-columns:1fr auto;grid-template-areas:"label value" "track track" "extra extra"}}
"""


def render(data: DashboardData, link: str | None = None) -> str:
    """The whole dashboard as one self-contained HTML page; `link` (the signed link it was opened with) goes on its downloads."""
    sheet = Sheet(data.model_dump(mode="json"), data.insights.time_zone)
    sections = [
        _downloads(_insights(data, sheet), "insights", None, link),
        _downloads(_posts(data, sheet), "posts", data.posts.range, link),
        _downloads(_flows(data, sheet), "flows", data.flows.range, link),
        _downloads(_keywords(data, sheet), "keywords", data.keywords.range, link),
        _downloads(_creators(data, sheet), "creators", data.creators.range, link),
        _downloads(_channels(data, sheet), "channels", data.channels.range, link, {"dimension": data.channels.dimension}),
        _downloads(_time_to_order(data, sheet), "time-to-order", data.time_to_order.range, link),
        _downloads(_crossover(data, sheet), "crossover", None, link),
        _reviews(data, sheet),
    ]
    return _page(data, sheet, "".join(sections))


def _downloads(section: str, report: str, span: ReportRange | None, link: str | None, asked: Mapping[str, str] | None = None) -> str:
    """The section with a "Download data" link per table of its report: the CSV of every row over the section's days."""
    query: dict[str, object] = {**(asked or {}), **({"from": span.from_, "to": span.to} if span else {})}
    if report in RANKED:
        query["limit"] = MAX_ROWS  # the whole data set, not the page's top rows
    links = []
    for table in table_names(REPORT_TYPES[report]):
        params = {**query, "format": "csv", "table": table, **({"link": link} if link else {})}
        links.append(f'<a href="reports/{report}?{esc(urlencode(params))}" download>{esc(table.replace("_", " "))}</a>')
    downloads = f'<p class="downloads">Download data (CSV): {" · ".join(links)}</p>'
    return section.removesuffix("</section>") + downloads + "</section>"


def _page(data: DashboardData, sheet: Sheet, body: str) -> str:
    """The document around the sections: head (title, CSP, style), header with navigation, footer."""
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>OrderTrail · {esc(data.tenant)} · dashboard</title><style>{STYLE}</style></head><body>"
        f"<header><h1>OrderTrail · {esc(data.tenant)}</h1>"
        f"<p>Updated {sheet.when(data.generated_at, 'datetime')} · times in {esc(data.insights.time_zone)}</p>"
        f'<nav aria-label="Sections">{nav}</nav></header><main>{body}</main>'
        "<footer>Driven = hard matches + soft matches a person confirmed. Every amount is in the currency shown beside it; "
        "amounts in different currencies are never added.</footer></body></html>"
    )


def _section(key: str, title: str, intro_html: str, body: str) -> str:
    """One titled section of the page."""
    intro = f'<p class="intro">{intro_html}</p>' if intro_html else ""
    return f'<section id="{key}" aria-labelledby="{key}-h"><h2 id="{key}-h">{esc(title)}</h2>{intro}{body}</section>'


def _range(sheet: Sheet, span: ReportRange) -> str:
    """A report range as "Jun 2, 2025 – Jun 8, 2025"."""
    return f"{sheet.when(span.from_)} – {sheet.when(span.to)}"


def _tile(label: str, figures: Datum | list[Datum], note: str = "") -> str:
    """A headline figure (or one per currency) with its label and an optional note (HTML)."""
    extra = f'<p class="note">{note}</p>' if note else ""
    shown = spans(figures if isinstance(figures, list) else [figures])
    return f'<div class="tile"><h4>{esc(label)}</h4><p class="big">{shown}</p>{extra}</div>'


# ---------------------------------------------------------------------------------------------------- insights
def _insights(data: DashboardData, sheet: Sheet) -> str:
    """All time, the last 7 days (daily series) and whole weeks (weekly series) of TikTok Shop figures."""
    ins = data.insights
    days = [(f"insights.last_7_days.days[{i}]", fmt(d.day, "day")) for i, d in enumerate(ins.last_7_days.days)]
    weeks = [(f"insights.weekly.weeks[{i}]", fmt(w.week_start, "day")) for i, w in enumerate(ins.weekly.weeks)]
    body = "".join(
        [
            _period(sheet, "All time", "", "insights.all_time", [], ""),
            _period(sheet, "Last 7 days", _range(sheet, ins.last_7_days.range), "insights.last_7_days.totals", days, "per day"),
            _products(sheet, "insights.last_7_days.top_products", [p.name or p.product_id for p in ins.last_7_days.top_products]),
            _period(sheet, "Weeks", _range(sheet, ins.weekly.range), "insights.weekly.totals", weeks, "per week"),
            _products(sheet, "insights.weekly.top_products", [p.name or p.product_id for p in ins.weekly.top_products]),
        ]
    )
    intro = "TikTok Shop orders; cancelled orders and connector copies never count."
    if ins.all_time.orders == 0:
        body = empty("No TikTok Shop orders yet — these cards fill in as soon as the first order arrives.") + body
    return _section("insights", "Insights", esc(intro), body)


def _period(sheet: Sheet, title: str, span: str, base: str, series: list[tuple[str, str]], per: str) -> str:
    """One period's cards; each card has a small series when the period has one."""
    cards = "".join(_card(sheet, base, metric, label, kind, series, per) for metric, label, kind in METRICS)
    heading = f'<h3>{esc(title)} <span class="range">{span}</span></h3>'
    return f'{heading}<div class="cards">{cards}</div>'


def _card(sheet: Sheet, base: str, metric: str, label: str, kind: Kind, series: list[tuple[str, str]], per: str) -> str:
    """One insight card: the figure, a note, and its series as a sparkline; for money and shares, one of each per currency."""
    if metric not in ABSENT:
        points = [sheet.at(f"{prefix}.{metric}", kind, day) for prefix, day in series]
        spark = sparkline(f"{label} {per}", points) if points else ""
        figure = sheet.at(f"{base}.{metric}", kind).span()
        return f'<article class="card"><h4>{esc(label)}</h4><p class="big">{figure}</p>{_card_note(sheet, base, metric)}{spark}</article>'
    codes = sheet.codes(f"{base}.{metric}")
    if not codes:  # nothing in any currency: the empty map, as a dash
        figure = sheet.at(f"{base}.{metric}", kind).span()
        return f'<article class="card"><h4>{esc(label)}</h4><p class="big">{figure}</p></article>'
    blocks = []
    for n, code in enumerate(codes):
        figure = sheet.point(f"{base}.{metric}", code, kind, "", None).span()
        points = [sheet.point(f"{prefix}.{metric}", code, kind, day, ABSENT[metric]) for prefix, day in series]
        spark = sparkline(f"{label} in {code} {per}", points, series=n) if points else ""
        note = _card_note(sheet, base, metric, code)
        blocks.append(f'<div class="per-currency"><p class="big">{figure}</p>{note}{spark}</div>')
    return f'<article class="card"><h4>{esc(label)}</h4>{"".join(blocks)}</article>'


def _card_note(sheet: Sheet, base: str, metric: str, code: str | None = None) -> str:
    """The line under a card's figure: new and repeat customers, or all stores' net receipts in the share's currency."""
    if metric == "customers":
        new, repeat = sheet.at(f"{base}.new_customers", "count"), sheet.at(f"{base}.repeat_customers", "count")
        return f'<p class="note">{new.span()} new · {repeat.span()} repeat</p>'
    if metric == "tiktok_share" and code is not None:
        stores = sheet.point(f"{base}.all_stores_net_receipts", code, "money", "", None)
        return f'<p class="note">of {stores.span()} across all stores</p>'
    return ""


def _products(sheet: Sheet, base: str, names: list[str]) -> str:
    """The period's top products by sales (each currency apart)."""
    if not names:
        return empty("No products sold in this period yet.")
    items = "".join(
        f"<li>{esc(name)}: {sheet.at(f'{base}[{i}].units', 'count').span()} units · {spans(sheet.money(f'{base}[{i}].sales'))}</li>"
        for i, name in enumerate(names[:5])
    )
    return f'<h4>Top products</h4><ol class="products">{items}</ol>'


# ---------------------------------------------------------------------------------------------------- rankings
def _currencies(main: str | None, amounts: Sequence[Mapping[str, object]]) -> list[str]:
    """The currencies a ranking shows, its main currency (by driven orders) first, then the others by code."""
    codes = sorted({code for amount in amounts for code in amount})
    return [main] + [code for code in codes if code != main] if main in codes else codes


def _posts(data: DashboardData, sheet: Sheet) -> str:
    """Posts by driven revenue, as bars (one per currency, each currency on its own scale)."""
    shown = data.posts.rows[:TOP_ROWS]
    order = _currencies(data.posts.main_currency, [row.driven_revenue for row in shown])
    rows = [
        BarRow(
            row.post_id,
            sheet.money(f"posts.rows[{i}].driven_revenue", order=order),
            sub=row.url or "",
            extras=_post_extras(sheet, i, row.soft_pending_orders),
        )
        for i, row in enumerate(shown)
    ]
    intro = f"Driven revenue by post, {_range(sheet, data.posts.range)} · {sheet.at('posts.total_rows', 'count').span()} posts"
    intro += _scales_note(order)
    body = bar_rows("Driven revenue by post", rows) if rows else empty("No posts yet — comments and the orders they drive show up here.")
    return _section("posts", "Posts by driven revenue", intro, body)


def _post_extras(sheet: Sheet, i: int, pending: int) -> list[tuple[Datum, str]]:
    """A post's comments, DMs, driven orders and (when there are any) soft matches waiting for review."""
    wanted = [("comments", "comments"), ("dms", "DMs"), ("driven_orders", "orders")]
    wanted += [("soft_pending_orders", "waiting for review")] if pending else []
    return [(sheet.at(f"posts.rows[{i}].{name}", "count"), unit) for name, unit in wanted]


def _counts(sheet: Sheet, base: str, wanted: tuple[tuple[str, str], ...]) -> list[tuple[Datum, str]]:
    """Secondary count figures of a row, each with what it counts."""
    return [(sheet.at(f"{base}.{name}", "count"), unit) for name, unit in wanted]


def _scales_note(order: list[str]) -> str:
    """Under a ranking with several currencies: each is its own series, never added to or measured against another."""
    if len(order) < 2:
        return ""
    return esc(f" · {', '.join(order)}: each currency has its own bars and scale, and is never added to another")


def _keywords(data: DashboardData, sheet: Sheet) -> str:
    """Keywords by driven revenue; keywords that fire a lot and never sell are flagged (and never cut off)."""
    keep = [i for i, row in enumerate(data.keywords.rows) if i < TOP_ROWS or row.never_sells]
    order = _currencies(data.keywords.main_currency, [data.keywords.rows[i].driven_revenue for i in keep])
    rows = [
        BarRow(
            data.keywords.rows[i].keyword,
            sheet.money(f"keywords.rows[{i}].driven_revenue", order=order),
            extras=_counts(sheet, f"keywords.rows[{i}]", (("fires", "fires"), ("dms", "DMs"), ("driven_orders", "orders"))),
            badge="never sells" if data.keywords.rows[i].never_sells else "",
            hot=data.keywords.rows[i].never_sells,
        )
        for i in keep
    ]
    least = sheet.at("keywords.never_sells_min_fires", "count").span()
    intro = f"{_range(sheet, data.keywords.range)} · flagged when a keyword fired at least {least} times and sold nothing"
    intro += _scales_note(order)
    body = bar_rows("Driven revenue by keyword", rows) if rows else empty("No keywords have fired yet.")
    return _section("keywords", "Keywords", intro, body)


def _creators(data: DashboardData, sheet: Sheet) -> str:
    """Creators by driven revenue."""
    shown = data.creators.rows[:TOP_ROWS]
    order = _currencies(data.creators.main_currency, [row.driven_revenue for row in shown])
    rows = [
        BarRow(
            row.creator,
            sheet.money(f"creators.rows[{i}].driven_revenue", order=order),
            extras=_counts(sheet, f"creators.rows[{i}]", (("clicks", "link clicks"), ("driven_orders", "orders"))),
        )
        for i, row in enumerate(shown)
    ]
    body = bar_rows("Driven revenue by creator", rows) if rows else empty("No creator links clicked yet.")
    return _section("creators", "Creators", _range(sheet, data.creators.range) + _scales_note(order), body)


def _channels(data: DashboardData, sheet: Sheet) -> str:
    """The six credit models side by side over the same orders: one small bar chart per model, the same posts in each."""
    report = data.channels
    shown = report.rows[:TOP_ROWS]
    if not shown:
        return _section("channels", "Credit models side by side", "", empty("No orders with a touch in the lookback yet."))
    names = [row.value for row in shown]
    panels = [
        Panel(
            MODEL_NAMES[model],
            sheet.at(f"channels.totals.{model}.orders", "credit"),
            [sheet.at(f"channels.rows[{i}].{model}.orders", "credit") for i in range(len(shown))],
        )
        for model in CREDIT_MODELS
    ]
    lonely = {i for i, row in enumerate(shown) if row.only_model}
    intro = (
        f"Orders each model credits per post, {_range(sheet, report.range)} · over the same "
        f"{sheet.at('channels.orders', 'count').span()} orders and a {sheet.at('channels.lookback_days', 'count').span()}-day lookback"
        " · one scale for every chart · highlighted: a post only one model credits"
    )
    body = small_multiples("Orders credited per post", names, panels, lonely)
    return _section("channels", "Credit models side by side", intro, body)


def _flows(data: DashboardData, sheet: Sheet) -> str:
    """Each DM flow as a funnel: users per step with the drop-off from the step before; big drop-offs stand out."""
    flows = "".join(_flow(data, sheet, i) for i in range(min(len(data.flows.rows), TOP_ROWS)))
    body = flows or empty("No DM flows have started yet.")
    return _section("flows", "DM flow funnels", _range(sheet, data.flows.range), body)


def _flow(data: DashboardData, sheet: Sheet, i: int) -> str:
    """One flow's funnel."""
    flow, base = data.flows.rows[i], f"flows.rows[{i}]"
    rows = [_step_row(sheet, f"{base}.steps[{s}]", step) for s, step in enumerate(flow.steps)]
    summary = " · ".join(
        [
            f"{sheet.at(f'{base}.dms', 'count').span()} conversations",
            f"{sheet.at(f'{base}.driven_orders', 'count').span()} orders",
            f"{spans(sheet.money(f'{base}.driven_revenue'))} driven revenue",
        ]
    )
    funnel = bar_rows(f"Funnel of {flow.name or flow.flow_id}", rows) if rows else empty("No steps reached yet.")
    return f'<article class="flow"><h3>{esc(flow.name or flow.flow_id)}</h3><p class="note">{summary}</p>{funnel}</article>'


def _step_row(sheet: Sheet, base: str, step: FlowStep) -> BarRow:
    """One funnel step: users as the bar, the drop-off from the step before (none for step 1), orders that ended here."""
    extras = [(sheet.at(f"{base}.drop_off", "share"), "dropped off since the step before")] if step.drop_off is not None else []
    extras.append((sheet.at(f"{base}.orders_at_step", "count"), "orders ended here"))
    label = f"{fmt(step.step, 'count')}. {step.name or 'Step'}"
    badge = "big drop-off" if step.stands_out else ""
    return BarRow(label, [sheet.at(f"{base}.users", "count")], extras=extras, badge=badge, hot=step.stands_out)


# ---------------------------------------------------------------------------------------------------- time, crossover, review
def _time_to_order(data: DashboardData, sheet: Sheet) -> str:
    """How long from first touch to order: headline figures, the histogram, and the weekly median with its change."""
    report = data.time_to_order
    if report.orders == 0:
        return _section("time-to-order", "Time to order", _range(sheet, report.range), empty("No driven orders yet — nothing to time."))
    tiles = "".join(
        [
            _tile("Driven orders", sheet.at("time_to_order.orders", "count")),
            _tile("Median", sheet.at("time_to_order.median_seconds", "duration")),
            _tile(
                "Middle half",
                sheet.at("time_to_order.p25_seconds", "duration"),
                f"to {sheet.at('time_to_order.p75_seconds', 'duration').span()}",
            ),
            _tile("Mean", sheet.at("time_to_order.mean_seconds", "duration")),
        ]
    )
    buckets = [sheet.at(f"time_to_order.histogram[{i}].orders", "count", b.label) for i, b in enumerate(report.histogram)]
    medians = [
        sheet.at(f"time_to_order.weeks[{i}].median_seconds", "duration", fmt(w.week_start, "day")) for i, w in enumerate(report.weeks)
    ]
    weekly = line_chart("Median time to order per week", medians) if medians else ""
    body = (
        f'<div class="tiles">{tiles}</div><h3>Orders by time to order</h3>{column_chart("Orders by time to order", buckets)}'
        f"<h3>Median per week</h3>{_latest_change(data, sheet)}{weekly}{_weeks_table(data, sheet)}"
    )
    return _section("time-to-order", "Time to order", _range(sheet, report.range), body)


def _latest_change(data: DashboardData, sheet: Sheet) -> str:
    """The latest week-on-week change of the median, in words."""
    known = [i for i, w in enumerate(data.time_to_order.weeks) if w.change is not None]
    if not known:
        return empty("Not enough weeks with orders yet to compare one week with the next.")
    i = known[-1]
    change = sheet.at(f"time_to_order.weeks[{i}].change", "change")
    tone = "up" if (change.number or 0) > 0 else "down"
    week = sheet.when(data.time_to_order.weeks[i].week_start)
    median = sheet.at(f"time_to_order.weeks[{i}].median_seconds", "duration").span()
    return f'<p class="note">Week of {week}: median {median}, <span class="{tone}">{change.span("num")}</span> on the week before.</p>'


def _weeks_table(data: DashboardData, sheet: Sheet) -> str:
    """Every week: orders, median and its change."""
    rows = "".join(
        f"<tr><td>{sheet.when(w.week_start)}</td>"
        + "".join(f'<td class="n">{sheet.at(f"time_to_order.weeks[{i}].{f}", k).span()}</td>' for f, k in _WEEK_COLUMNS)
        + "</tr>"
        for i, w in enumerate(data.time_to_order.weeks)
    )
    head = '<th>Week of</th><th class="n">Orders</th><th class="n">Median</th><th class="n">Change</th>'
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


_WEEK_COLUMNS: tuple[tuple[str, Kind], ...] = (("orders", "count"), ("median_seconds", "duration"), ("change", "change"))


def _crossover(data: DashboardData, sheet: Sheet) -> str:
    """TikTok customers who went on to buy at the seller's other stores: totals, cumulative share, breakdown."""
    report = data.crossover
    if report.sourced_customers == 0:
        return _section("crossover", "Crossover", "", empty("No customers have come from TikTok Shop yet — crossover shows once they do."))
    tiles = "".join(
        [
            _tile("Customers from TikTok", sheet.at("crossover.sourced_customers", "count")),
            _tile("Crossed to other stores", sheet.at("crossover.crossover_customers", "count")),
            _tile("Crossover share", sheet.at("crossover.crossover_share", "share")),
            _tile("Their other-store net receipts", sheet.money("crossover.other_net_receipts")),
        ]
    )
    shares = [sheet.at(f"crossover.weeks[{i}].cumulative_share", "share", fmt(w.week_start, "day")) for i, w in enumerate(report.weeks)]
    trend = line_chart("Cumulative crossover share by week", shares) if shares else ""
    breakdown = [
        BarRow(
            f"{b.other_orders} order{'' if b.other_orders == '1' else 's'} elsewhere",
            [sheet.at(f"crossover.breakdown[{i}].customers", "count")],
        )
        for i, b in enumerate(report.breakdown)
    ]
    rows = bar_rows("Crossover customers by other-store orders", breakdown) if breakdown else ""
    body = f'<div class="tiles">{tiles}</div><h3>Cumulative share by week</h3>{trend}<h3>How many orders elsewhere</h3>{rows}'
    return _section("crossover", "Crossover", "Matched on a hashed address; all time.", body)


def _reviews(data: DashboardData, sheet: Sheet) -> str:
    """Soft matches waiting for a person's review, as a table."""
    reviews = data.pending_reviews[:MAX_REVIEWS]
    if not reviews:
        return _section("reviews", "Soft matches waiting for review", "", empty("Nothing to review — every soft match has been decided."))
    head = "".join(f'<th class="n">{h}</th>' if h == "Revenue" else f"<th>{h}</th>" for h in REVIEW_COLUMNS)
    rows = "".join(
        f"<tr><td>{esc(r.order_id)}</td><td>{esc(STORES.get(r.source, r.source))}</td>"
        f"<td>{sheet.when(r.ordered_at, 'datetime')}</td>"
        f'<td class="n">{sheet.at(f"pending_reviews[{i}].revenue", "money", currency=r.currency).span()}</td>'
        f'<td class="comment">{esc(r.comment_text or "")}</td>'
        f'<td class="post">{esc(r.post.url or r.post.id) if r.post else ""}</td><td>{esc(", ".join(r.keywords))}</td>'
        f"<td>{esc((r.flow.name or r.flow.id) if r.flow else '')}</td></tr>"
        for i, r in enumerate(reviews)
    )
    intro = esc("Confirm or reject each one (POST /v1/{tenant}/orders/{order_id}/review); confirmed ones count as driven.")
    hidden = len(data.pending_reviews) - len(reviews)
    if hidden > 0:
        intro += f" Showing the first {esc(fmt(len(reviews), 'count'))}; {esc(fmt(hidden, 'count'))} more are waiting."
    return _section(
        "reviews",
        "Soft matches waiting for review",
        intro,
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>',
    )
