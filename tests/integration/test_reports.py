"""Issue #4 item 8: every report figure equals a value computed by hand from the fixture in events/report_day/.

The fixture (its README tells the story and does the arithmetic) is one seller in America/Los_Angeles, replayed
through the real handlers with OrderTrail's clock held at today = Wednesday 2026-11-18 10:00 PST: 15 TikTok Shop
orders, 7 Shopify orders (one a connector app's copy of a TikTok order), one order from the seller's own site, and
the comments, DMs, flow steps, shop links, ad and creator clicks behind them, from Tue 2026-10-27 to today.

Edges it holds: Kim's order at 23:30 on Sunday 2026-11-15 (07:30 UTC on Monday), Cara's at 00:30 PDT on Saturday
2026-10-31 (before daylight saving time ended), Nia's at 23:50 on Tue 2026-11-10 (Wednesday in UTC, just outside
the last 7 days) and Luz's this morning (today's partial day); Jo's order was attributed and then cancelled; Cara's
soft match was confirmed and Dev's rejected; Ivan's organic order became an ad-click order when his click arrived
late; Ava's address is spelled three ways across TikTok and Shopify; Max's TikTok address is masked; Ben's TikTok
order has a connector copy in Shopify.

Money is a map per currency in every report; the report day is all USD, so each amount is compared as {"USD": Decimal}
(an empty map where nothing was sold), shares and drop-offs as floats (approx); `# a + b` comments show each sum.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ordertrail.reports.csv_format import ATTRIBUTED_ORDER_COLUMNS
from ordertrail.tally.time_to_order import BUCKET_EDGES
from tests.conftest import Pipeline
from tests.integration import report_day
from tests.integration.report_day import TENANT
from tests.integration.senders import api_key, get_order, team_call

D = Decimal
ALL_DAYS = {"from": "2026-10-26", "to": "2026-11-18"}  # Monday of the first week .. today: every event of the fixture
THREE_WEEKS = {"from": "2026-10-26", "to": "2026-11-15"}  # the three whole weeks Mon 10-26 .. Sun 11-15
V1, V2, V3 = "7490000000000000001", "7490000000000000002", "7490000000000000003"  # lip oil, serum, balm videos
V1_URL = f"https://www.tiktok.com/@glowhouse.beauty/video/{V1}"
V2_URL = f"https://www.tiktok.com/@glowhouse.beauty/video/{V2}"
AVA_COMMENT = "LINK please! the rose one 😍"


def tt(number: str) -> str:
    """A TikTok Shop order id of the fixture by its last four digits."""
    return f"57665368813525{number}"


# order id → (source, method, review_status, time_to_order_seconds, cancelled) once the whole fixture is replayed
EXPECTED_ATTRIBUTION: dict[str, tuple[str, str, str | None, int | None, bool]] = {
    tt("1001"): ("tiktok_shop", "conversation", None, 3600, False),  # Ava: comment 19:00, order 20:00
    tt("1002"): ("tiktok_shop", "conversation", None, 86400, False),  # Ben: comment 10-28 12:00, order 10-29 12:00
    tt("1003"): ("tiktok_shop", "conversation_soft", "confirmed", 55800, False),  # Cara: 10-30 09:00 → 10-31 00:30 = 15 h 30 m
    tt("1004"): ("tiktok_shop", "organic", "rejected", 57600, False),  # Dev: soft match rejected (its time is not counted)
    tt("1005"): ("tiktok_shop", "conversation_soft", "pending", 46800, False),  # Eli: 11-05 20:00 → 11-06 09:00 = 13 h
    tt("1006"): ("tiktok_shop", "coupon", None, 72000, False),  # Fay: MAYA15; maya click 11-04 15:00 → 11-05 11:00 = 20 h
    tt("1007"): ("tiktok_shop", "conversation", None, 3600, True),  # Jo: attributed, then cancelled
    tt("1008"): ("tiktok_shop", "creator_link", None, 300, False),  # Hana: leo click 16:05 → order 16:10
    tt("1009"): ("tiktok_shop", "ad_click", None, 10800, False),  # Ivan: late ad click 18:00 → order 21:00
    tt("1010"): ("tiktok_shop", "organic", None, None, False),  # Ben again: not his conversation's first order
    tt("1011"): ("tiktok_shop", "conversation", None, 9000, False),  # Kim: comment Sun 21:00 → order Sun 23:30
    tt("1012"): ("tiktok_shop", "organic", None, None, False),  # Luz, today
    tt("1013"): ("tiktok_shop", "organic", None, None, False),  # Max, masked address
    tt("1014"): ("tiktok_shop", "organic", None, None, False),  # Nia, Tue 23:50
    tt("1015"): ("tiktok_shop", "organic", None, None, False),  # Omar, paid partly with store credit
    "WS-2001": ("other", "organic", None, None, False),  # Cara on the seller's own site
    "5001": ("shopify", "organic", None, None, False),  # Ava, "123 MAIN ST APT 4B"
    "5002": ("shopify", "organic", None, None, False),  # Ava, "123 Main St" + "#4B"
    "5003": ("shopify", "organic", None, None, False),  # connector copy of Ben's TikTok order 1002
    "5004": ("shopify", "ad_click", None, 2400, False),  # Gus: ttclid on the landing; click 18:40 → order 19:20
    "5005": ("shopify", "organic", None, None, False),  # Jo
    "5006": ("shopify", "organic", None, None, False),  # Max, unmasked address
    "5007": ("shopify", "organic", None, None, False),  # Nia
}


# ------------------------------------------------------------------------------------------------ helpers
def report(api: Pipeline, name: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET /reports/<name> with the team key; the body of a 200."""
    response = team_call(api, "GET", TENANT, f"reports/{name}", query=urlencode(query or {}))
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def export_csv(api: Pipeline, name: str, query: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """GET /exports/<name>.csv: a text/csv 200, parsed into rows by header."""
    response = team_call(api, "GET", TENANT, f"exports/{name}.csv", query=urlencode(query or {}))
    assert response.status == 200, response.body
    assert response.headers.get("content-type", response.headers.get("Content-Type", "")).startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.body.decode("utf-8"))))


def by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Report rows by their id field."""
    return {row[key]: row for row in rows}


def amounts(value: dict[str, str]) -> dict[str, Decimal]:
    """A money map of the API (currency code → decimal string), as Decimals."""
    return {code: D(text) for code, text in value.items()}


def usd(text: str) -> dict[str, Decimal]:
    """An expected amount in US dollars; nothing (an empty map) for 0."""
    return {"USD": D(text)} if D(text) else {}


def attributed(row: dict[str, Any]) -> dict[str, Any]:
    """A row's attributed figures, money as maps of Decimal."""
    return {
        "hard": (row["orders"], amounts(row["revenue"])),
        "soft_pending": (row["soft_pending_orders"], amounts(row["soft_pending_revenue"])),
        "soft_confirmed": (row["soft_confirmed_orders"], amounts(row["soft_confirmed_revenue"])),
        "driven": (row["driven_orders"], amounts(row["driven_revenue"])),
    }


def figures(
    hard: tuple[int, str] = (0, "0"),
    soft_pending: tuple[int, str] = (0, "0"),
    soft_confirmed: tuple[int, str] = (0, "0"),
    driven: tuple[int, str] = (0, "0"),
) -> dict[str, Any]:
    """Expected attributed figures: (orders, revenue in USD) per class."""
    return {
        "hard": (hard[0], usd(hard[1])),
        "soft_pending": (soft_pending[0], usd(soft_pending[1])),
        "soft_confirmed": (soft_confirmed[0], usd(soft_confirmed[1])),
        "driven": (driven[0], usd(driven[1])),
    }


NOTHING = figures()


def insight(f: dict[str, Any]) -> dict[str, Any]:
    """Insights figures, money as maps of Decimal."""
    return {
        "orders": f["orders"],
        "net_receipts": amounts(f["net_receipts"]),
        "average_order_value": amounts(f["average_order_value"]),
        "customers": f["customers"],
        "new_customers": f["new_customers"],
        "repeat_customers": f["repeat_customers"],
        "all_stores_net_receipts": amounts(f["all_stores_net_receipts"]),
        "tiktok_share": f["tiktok_share"],
    }


def expected_insight(
    orders: int, net: str, aov: str | None, customers: int, new: int, repeat: int, all_stores: str, share: float | None
) -> dict[str, Any]:
    """Expected insights figures in USD (the share compared approximately); None or 0: nothing in any currency."""
    return {
        "orders": orders,
        "net_receipts": usd(net),
        "average_order_value": {} if aov is None else usd(aov),
        "customers": customers,
        "new_customers": new,
        "repeat_customers": repeat,
        "all_stores_net_receipts": usd(all_stores),
        "tiktok_share": {} if share is None else {"USD": pytest.approx(share)},
    }


def products(rows: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, Decimal]]]:
    """Top products as (product_id, units, sales per currency)."""
    return [(row["product_id"], row["units"], amounts(row["sales"])) for row in rows]


def instant(text: str) -> datetime:
    """An aware time from RFC 3339."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------------------------------------------ reports as CSV
# (report, table or None for the default, query) for every table of every report.
CSV_TABLES: list[tuple[str, str | None, dict[str, str]]] = [
    ("posts", None, ALL_DAYS),
    ("flows", None, ALL_DAYS),
    ("flows", "steps", ALL_DAYS),
    ("keywords", None, ALL_DAYS),
    ("creators", None, ALL_DAYS),
    ("coupons", None, ALL_DAYS),
    ("channels", None, {**ALL_DAYS, "dimension": "post"}),
    ("channels", None, {**ALL_DAYS, "dimension": "keyword"}),
    ("channels", "totals", {**ALL_DAYS, "dimension": "post"}),
    ("time-to-order", None, THREE_WEEKS),
    ("time-to-order", "histogram", THREE_WEEKS),
    ("time-to-order", "summary", THREE_WEEKS),
    ("insights", None, {}),
    ("insights", "days", {}),
    ("insights", "totals", {}),
    ("insights", "top_products_weekly", {}),
    ("insights", "top_products_last_7_days", {}),
    ("crossover", None, {}),
    ("crossover", "weeks", {}),
    ("crossover", "breakdown", {}),
    ("crossover", "summary", {}),
]
DEFAULT_TABLE = {"posts": "posts", "flows": "flows", "keywords": "keywords", "creators": "creators", "coupons": "coupons"}
DEFAULT_TABLE |= {"channels": "values", "time-to-order": "weeks", "insights": "weeks", "crossover": "customers"}
# Where each table's rows are in the report's JSON: (path to the list, or None for the report itself as one row;
# the parent fields that lead each row, as (column, field of the parent)).
JSON_TABLES: dict[tuple[str, str], tuple[str | None, tuple[tuple[str, str], ...]]] = {
    ("posts", "posts"): ("rows", ()),
    ("flows", "flows"): ("rows", ()),
    ("flows", "steps"): ("rows.steps", (("flow_id", "flow_id"),)),
    ("keywords", "keywords"): ("rows", ()),
    ("creators", "creators"): ("rows", ()),
    ("coupons", "coupons"): ("rows", ()),
    ("channels", "values"): ("rows", ()),
    ("channels", "totals"): ("channel_totals", ()),
    ("time-to-order", "weeks"): ("weeks", ()),
    ("time-to-order", "histogram"): ("histogram", ()),
    ("time-to-order", "summary"): (None, ()),
    ("insights", "weeks"): ("weekly.weeks", ()),
    ("insights", "days"): ("last_7_days.days", ()),
    ("insights", "totals"): ("totals", ()),
    ("insights", "top_products_weekly"): ("weekly.top_products", ()),
    ("insights", "top_products_last_7_days"): ("last_7_days.top_products", ()),
    ("crossover", "customers"): ("customers", ()),
    ("crossover", "weeks"): ("weeks", ()),
    ("crossover", "breakdown"): ("breakdown", ()),
    ("crossover", "summary"): (None, ()),
}


def header_of(response: Any, name: str) -> str:
    """A response header, whatever its case."""
    return {key.lower(): value for key, value in response.headers.items()}[name.lower()]


def flat(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A JSON object as CSV columns: nested objects prefixed, a money map (keys are currency codes) a column per
    currency, lists of objects left out (tables of their own), lists of plain values kept whole."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            is_money = all(len(code) == 3 and code.isupper() for code in item)
            out |= {f"{prefix}{key}_{code}": amount for code, amount in item.items()} if is_money else flat(item, f"{prefix}{key}_")
        elif not (isinstance(item, list) and item and isinstance(item[0], dict)):
            out[prefix + key] = item
    return out


def json_table(body: dict[str, Any], path: str | None, lead: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """The rows a CSV table must hold, read from the report's JSON by the table's path."""
    if path is None:
        return [flat(body)]
    if path == "channel_totals":  # every model's total, led by the dimension and the orders they share
        return [{"dimension": body["dimension"], "orders": body["orders"], **flat(body["totals"])}]
    if path == "totals":  # insights: each period's figures, led by the period and its days
        last, weekly = body["last_7_days"], body["weekly"]
        periods = [("all_time", {}, body["all_time"]), ("last_7_days", last["range"], last["totals"])]
        periods.append(("weekly", weekly["range"], weekly["totals"]))
        return [{"period": name, "from": span.get("from"), "to": span.get("to"), **flat(figures)} for name, span, figures in periods]
    rest = path.partition(".")[2]
    if path.startswith("rows.") and rest:  # a list inside each row, led by the row's fields
        return [{**{column: row[field] for column, field in lead}, **flat(item)} for row in body["rows"] for item in row[rest]]
    node: Any = body
    for part in path.split("."):
        node = node[part]
    return [flat(row) for row in node]


def same(cell: str, value: Any) -> bool:
    """Whether a CSV cell holds the JSON value: null is empty, numbers by value, times by instant, text exactly."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, int | float):
        return cell != "" and float(cell) == pytest.approx(value)
    if isinstance(value, list):
        return cell == "; ".join(str(part) for part in value)
    if "T" in value and value[:4].isdigit():
        return datetime.fromisoformat(cell) == datetime.fromisoformat(value)
    return cell == value


# ------------------------------------------------------------------------------------------------ the replayed day
@pytest.fixture(scope="class")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The whole fixture replayed once through the real handlers; the tests of the class only read it (the last ones
    redeliver what was already delivered and check that nothing changed)."""
    directory: Path = tmp_path_factory.mktemp("report-day")
    with report_day.offline_world(directory) as api:
        report_day.replay(api)
        yield api


class TestTheReportDay:
    """Given the report day replayed, when each report is read, then each figure is the hand-computed one."""

    def test_fixture_orders_attribute_as_documented(self, day: Pipeline) -> None:
        """Every order's attribution is the one the fixture's README lists (the reports build on these)."""
        got = {}
        for order_id, (source, *_rest) in EXPECTED_ATTRIBUTION.items():
            response = get_order(day, TENANT, order_id, source=source)
            assert response.status == 200, response.body
            doc = response.json()
            attribution = doc["attribution"]
            got[order_id] = (
                doc["order"]["source"],
                attribution["method"],
                attribution.get("review_status"),
                attribution.get("time_to_order_seconds"),
                attribution["cancelled"],
            )
        assert got == EXPECTED_ATTRIBUTION
        assert day.pump.dead_letters == []

    def test_fixture_details_the_reports_rely_on(self, day: Pipeline) -> None:
        """The post, flow, keywords, creator and coupon each attribution names, and the connector copy's flag."""
        ava = get_order(day, TENANT, tt("1001")).json()["attribution"]
        assert (ava["post"]["id"], ava["flow"]["id"], ava["keywords"]) == (V1, "flow-lip", ["LINK"])
        kim = get_order(day, TENANT, tt("1011")).json()["attribution"]
        assert (kim["post"]["id"], kim["keywords"]) == (V1, ["Link"])  # counted as keyword "link"
        fay = get_order(day, TENANT, tt("1006")).json()["attribution"]
        assert (fay["coupon"], fay["creator"]) == ("MAYA15", "maya")
        hana = get_order(day, TENANT, tt("1008")).json()["attribution"]
        assert hana["creator"] == "leo"
        copy = get_order(day, TENANT, "5003", source="shopify").json()["order"]
        assert copy["connector_copy_of"] == tt("1002")
        assert get_order(day, TENANT, tt("1007")).json()["order"]["status"] == "cancelled"

    # -------------------------------------------------------------------------------------- posts
    def test_posts_over_the_whole_fixture(self, day: Pipeline) -> None:
        """Per post: comments, DMs, orders and revenue, hard and soft apart, sorted by driven revenue."""
        body = report(day, "posts", ALL_DAYS)
        assert body["range"] == {"from": "2026-10-26", "to": "2026-11-18", "time_zone": "America/Los_Angeles", "days": 24}
        assert body["sort"] == "revenue"
        assert [row["post_id"] for row in body["rows"]] == [V1, V2, V3]  # driven revenue 62.00 > 30.00 > 0
        assert body["total_rows"] == 3
        rows = by(body["rows"], "post_id")
        v1, v2, v3 = rows[V1], rows[V2], rows[V3]
        assert (v1["url"], v1["comments"], v1["dms"]) == (V1_URL, 5, 5)  # Ava, Cara, Eli, Quinn, Kim: each commented, each got a DM
        assert attributed(v1) == figures(
            hard=(2, "47.00"),  # Ava 30.00 + Kim 17.00 (an order's total, not its net receipts)
            soft_pending=(1, "30.00"),  # Eli
            soft_confirmed=(1, "15.00"),  # Cara
            driven=(3, "62.00"),  # 47.00 + 15.00; Eli's pending 30.00 never drives
        )
        assert (v2["url"], v2["comments"], v2["dms"]) == (V2_URL, 4, 4)  # Ben, Dev, Jo, Rae
        assert attributed(v2) == figures(hard=(1, "30.00"), driven=(1, "30.00"))  # Ben; Jo cancelled, Dev rejected
        assert (v3["comments"], v3["dms"]) == (3, 0)  # Pia, Uma, Vic asked the price; no DM flow on V3
        assert attributed(v3) == NOTHING

    def test_posts_sorted_by_comments_and_limited(self, day: Pipeline) -> None:
        body = report(day, "posts", {**ALL_DAYS, "sort": "comments", "limit": 2})
        assert [(row["post_id"], row["comments"]) for row in body["rows"]] == [(V1, 5), (V2, 4)]  # V3's 3 is cut by the limit
        assert body["total_rows"] == 3

    def test_sunday_2330_local_is_sunday_not_monday(self, day: Pipeline) -> None:
        """Kim's order at 23:30 PST on Sunday 11-15 (07:30 UTC on Monday 11-16) is Sunday's."""
        sunday = by(report(day, "posts", {"from": "2026-11-15", "to": "2026-11-15"})["rows"], "post_id")
        assert (sunday[V1]["comments"], sunday[V1]["dms"]) == (1, 1)  # Kim's comment at 21:00 and DM at 21:01
        assert attributed(sunday[V1]) == figures(hard=(1, "17.00"), driven=(1, "17.00"))  # Kim's order
        monday = report(day, "posts", {"from": "2026-11-16", "to": "2026-11-16"})["rows"]
        assert all(row["driven_orders"] == 0 and row["comments"] == 0 for row in monday)

    def test_an_order_before_daylight_saving_time_ended_is_on_its_local_day(self, day: Pipeline) -> None:
        """Cara's order at 00:30 PDT on Saturday 10-31 (07:30 UTC) is Saturday's; a fixed UTC−8 would put it on Friday."""
        saturday = by(report(day, "posts", {"from": "2026-10-31", "to": "2026-10-31"})["rows"], "post_id")
        assert attributed(saturday[V1]) == figures(soft_confirmed=(1, "15.00"), driven=(1, "15.00"))
        friday = by(report(day, "posts", {"from": "2026-10-30", "to": "2026-10-30"})["rows"], "post_id")
        assert (friday[V1]["comments"], friday[V1]["dms"]) == (1, 1)  # Cara's comment and DM on Friday 09:00
        assert attributed(friday[V1]) == NOTHING

    # -------------------------------------------------------------------------------------- flows
    def test_flows_users_per_step_and_drop_off(self, day: Pipeline) -> None:
        body = report(day, "flows", ALL_DAYS)
        assert [row["flow_id"] for row in body["rows"]] == ["flow-lip", "flow-serum"]  # 62.00 > 30.00
        flows = by(body["rows"], "flow_id")
        lip, serum = flows["flow-lip"], flows["flow-serum"]
        assert (lip["name"], lip["dms"]) == ("Lip oil flow", 5)  # Ava, Cara, Eli, Quinn, Kim
        assert [(s["step"], s["name"], s["users"], s["stands_out"], s["orders_at_step"]) for s in lip["steps"]] == [
            (1, "Welcome", 5, False, 0),
            (2, "Shop link", 4, False, 2),  # Quinn stopped at step 1; Ava and Kim bought at step 2 (Eli's is pending)
            (3, "Reminder", 1, True, 1),  # only Cara got the reminder, then bought (confirmed soft)
        ]
        assert [s.get("drop_off") for s in lip["steps"]] == [None, pytest.approx(0.2), pytest.approx(0.75)]  # 1 − 4/5; 1 − 1/4 ≥ 0.6
        assert attributed(lip) == figures(hard=(2, "47.00"), soft_pending=(1, "30.00"), soft_confirmed=(1, "15.00"), driven=(3, "62.00"))
        assert (serum["name"], serum["dms"]) == ("Serum flow", 4)  # Ben, Dev, Jo, Rae
        assert [(s["step"], s["name"], s["users"], s["stands_out"], s["orders_at_step"]) for s in serum["steps"]] == [
            (1, "Welcome", 4, False, 0),
            (2, "Shop link", 3, False, 1),  # Rae stopped at step 1; only Ben's order drives (Jo cancelled, Dev rejected)
        ]
        assert [s.get("drop_off") for s in serum["steps"]] == [None, pytest.approx(0.25)]  # 1 − 3/4
        assert attributed(serum) == figures(hard=(1, "30.00"), driven=(1, "30.00"))

    # -------------------------------------------------------------------------------------- keywords
    def test_keywords_case_folded_with_fires_dms_and_revenue(self, day: Pipeline) -> None:
        body = report(day, "keywords", ALL_DAYS)
        assert body["never_sells_min_fires"] == 20  # the default
        assert [row["keyword"] for row in body["rows"]] == ["link", "glow", "price"]  # 62.00 > 30.00 > 0
        keywords = by(body["rows"], "keyword")
        link, glow, price = keywords["link"], keywords["glow"], keywords["price"]
        assert (link["fires"], link["dms"], link["never_sells"]) == (5, 5, False)  # LINK ×3 (Ava, Eli, Quinn), link (Cara), Link (Kim)
        assert attributed(link) == figures(hard=(2, "47.00"), soft_pending=(1, "30.00"), soft_confirmed=(1, "15.00"), driven=(3, "62.00"))
        assert (glow["fires"], glow["dms"], glow["never_sells"]) == (4, 4, False)  # glow (Ben, Jo), GLOW (Dev), Glow (Rae)
        assert attributed(glow) == figures(hard=(1, "30.00"), driven=(1, "30.00"))
        assert (price["fires"], price["dms"], price["never_sells"]) == (3, 0, False)  # PRICE, price, Price; 3 < 20
        assert attributed(price) == NOTHING

    def test_a_keyword_that_fires_and_never_sells_is_flagged(self, day: Pipeline) -> None:
        """With dead_keyword_min_fires = 3, "price" (3 fires, no order of any class) is flagged; "link" and "glow" sold."""
        report_day.put_settings(day, reports={"dead_keyword_min_fires": 3})
        try:
            body = report(day, "keywords", ALL_DAYS)
        finally:
            report_day.put_settings(day)
        assert body["never_sells_min_fires"] == 3
        assert {row["keyword"]: row["never_sells"] for row in body["rows"]} == {"link": False, "glow": False, "price": True}

    # -------------------------------------------------------------------------------------- creators and coupons
    def test_creators_clicks_orders_and_revenue(self, day: Pipeline) -> None:
        body = report(day, "creators", ALL_DAYS)
        assert [row["creator"] for row in body["rows"]] == ["maya", "leo"]  # 52.00 > 26.00
        creators = by(body["rows"], "creator")
        assert creators["maya"]["clicks"] == 2  # Fay and Sol clicked maya's link
        assert attributed(creators["maya"]) == figures(hard=(1, "52.00"), driven=(1, "52.00"))  # Fay's MAYA15 order
        assert creators["leo"]["clicks"] == 1  # Hana
        assert attributed(creators["leo"]) == figures(hard=(1, "26.00"), driven=(1, "26.00"))  # Hana's order

    def test_coupons_orders_and_revenue(self, day: Pipeline) -> None:
        body = report(day, "coupons", ALL_DAYS)
        assert [row["coupon"] for row in body["rows"]] == ["MAYA15"]  # Fay typed "maya15"
        assert attributed(body["rows"][0]) == figures(hard=(1, "52.00"), driven=(1, "52.00"))  # 47.60 + 4.40 tax

    # -------------------------------------------------------------------------------------- time to order
    def test_time_to_order_over_three_whole_weeks(self, day: Pipeline) -> None:
        """Driven orders only (hard + confirmed soft): Hana 300, Gus 2400, Ava 3600, Kim 9000, Ivan 10800, Cara 55800,
        Fay 72000, Ben 86400 seconds (Eli pending, Dev rejected and Jo cancelled are out)."""
        body = report(day, "time-to-order", THREE_WEEKS)
        assert body["orders"] == 8
        assert body["mean_seconds"] == pytest.approx(30037.5)  # (300+2400+3600+9000+10800+55800+72000+86400) / 8 = 240300 / 8
        # Cumulative counts by bucket: [5m,15m) 1, [30m,1h) 2, [1h,2h) 3, [2h,3h) 4, [3h,6h) 5, [12h,1d) 7, [1d,2d) 8.
        assert body["p25_seconds"] == pytest.approx(3600)  # target 2 in [30m,1h): 1800 + (2−1)/1 × 1800
        assert body["median_seconds"] == pytest.approx(10800)  # target 4 in [2h,3h): 7200 + (4−3)/1 × 3600
        assert body["p75_seconds"] == pytest.approx(64800)  # target 6 in [12h,1d): 43200 + (6−5)/2 × 43200
        assert [bucket["from_seconds"] for bucket in body["histogram"]] == list(BUCKET_EDGES)
        assert {b["from_seconds"]: b["orders"] for b in body["histogram"] if b["orders"]} == {
            300: 1,  # Hana 300 (5 minutes exactly is the lower edge)
            1800: 1,  # Gus 2400
            3600: 1,  # Ava 3600
            7200: 1,  # Kim 9000
            10800: 1,  # Ivan 10800
            43200: 2,  # Cara 55800, Fay 72000
            86400: 1,  # Ben 86400
        }
        weeks = [(w["week_start"], w["orders"], w.get("median_seconds"), w.get("change")) for w in body["weeks"]]
        assert weeks == [
            # Ava [1h,2h), Cara [12h,1d), Ben [1d,2d): target 1.5 in [12h,1d): 43200 + 0.5/1 × 43200; no orders the week before
            ("2026-10-26", 3, pytest.approx(64800), None),
            # Hana [5m,15m), Gus [30m,1h), Fay [12h,1d): target 1.5 in [30m,1h): 1800 + 0.5 × 1800; (2700 − 64800) / 64800
            ("2026-11-02", 3, pytest.approx(2700), pytest.approx(-23 / 24)),
            # Kim (Sunday 23:30 local: this week, not next) [2h,3h), Ivan [3h,6h): target 1 → 7200 + 1 × 3600; (10800 − 2700) / 2700
            ("2026-11-09", 2, pytest.approx(10800), pytest.approx(3.0)),
        ]

    # -------------------------------------------------------------------------------------- insights
    def test_insights_all_time_last_7_days_and_the_default_6_weeks(self, day: Pipeline) -> None:
        body = report(day, "insights")
        assert (body["time_zone"], body["today"]) == ("America/Los_Angeles", "2026-11-18")
        # TikTok net: Ava 30 + Ben 30 + Cara 15 + Max 15 + Dev 15 + Fay 52 + Eli 30 + Hana 26 + Nia 17 + Ben 30 + Ivan 45
        # + Kim 19 + Omar 10 + Luz 30 = 364.00 over 14 orders (Jo's cancelled 1007 is not one); Kim's net is 14 + 1 + 4 = 19.00
        # though she paid 17.00 (a 2.00 platform discount), Omar's 10 + 1 + 4 − 5 credit = 10.00.
        # Other stores: Shopify 5007 20 + 5001 35 + 5004 60 + 5006 31 + 5002 16 + 5005 20 = 182.00 (not the connector copy
        # 5003) + own site WS-2001 41.00 = 223.00; all stores 364 + 223 = 587.00.
        # Customers: 13 TikTok user ids (Jo's only order is cancelled); Ben bought on two days, so 1 repeat.
        assert insight(body["all_time"]) == expected_insight(14, "364.00", "26.00", 13, 13, 1, "587.00", 364 / 587)

        last = body["last_7_days"]  # Wed 11-11 .. Tue 11-17: today (Luz) and Tue 11-10 23:50 (Nia, Wednesday in UTC) are out
        assert last["range"] == {"from": "2026-11-11", "to": "2026-11-17", "time_zone": "America/Los_Angeles", "days": 7}
        # TikTok: Ben 30 (11-11 00:10) + Ivan 45 + Kim 19 + Omar 10 = 104.00 / 4 = 26.00; Ben is the one repeat customer.
        # Others: Max 31 + Ava 16 + Jo 20 (Shopify) + Cara 41 (own site) = 108.00; 104 + 108 = 212.00.
        assert insight(last["totals"]) == expected_insight(4, "104.00", "26.00", 4, 3, 1, "212.00", 104 / 212)
        assert [(d["day"], *insight(d).values()) for d in last["days"]] == [
            ("2026-11-11", *expected_insight(1, "30.00", "30.00", 1, 0, 1, "30.00", 1.0).values()),  # Ben again
            ("2026-11-12", *expected_insight(0, "0", None, 0, 0, 0, "31.00", 0.0).values()),  # Max at Shopify only
            ("2026-11-13", *expected_insight(1, "45.00", "45.00", 1, 1, 0, "61.00", 45 / 61).values()),  # Ivan; Ava 16 at Shopify
            ("2026-11-14", *expected_insight(0, "0", None, 0, 0, 0, "20.00", 0.0).values()),  # Jo at Shopify
            ("2026-11-15", *expected_insight(1, "19.00", "19.00", 1, 1, 0, "19.00", 1.0).values()),  # Kim, Sunday 23:30
            ("2026-11-16", *expected_insight(0, "0", None, 0, 0, 0, "41.00", 0.0).values()),  # Cara on the own site
            ("2026-11-17", *expected_insight(1, "10.00", "10.00", 1, 1, 0, "10.00", 1.0).values()),  # Omar
        ]
        # SER: Ben 1 + Ivan 1 = 2 units, 56.00; LIP: Ivan 1 + Kim 1 = 2, 28.00; BALM: Omar 1, 10.00
        assert products(last["top_products"]) == [("P-SER", 2, usd("56.00")), ("P-LIP", 2, usd("28.00")), ("P-BALM", 1, usd("10.00"))]

        weekly = body["weekly"]  # the 6 full weeks before the current one: Mon 10-05 .. Sun 11-15
        assert weekly["range"] == {"from": "2026-10-05", "to": "2026-11-15", "time_zone": "America/Los_Angeles", "days": 42}
        # 364.00 − Omar 10 − Luz 30 = 324.00 over 12 orders = 27.00; others 182.00 (WS-2001 is on 11-16) → 506.00
        assert insight(weekly["totals"]) == expected_insight(12, "324.00", "27.00", 11, 11, 0, "506.00", 324 / 506)
        quiet = expected_insight(0, "0", None, 0, 0, 0, "0", None)
        assert [(w["week_start"], w["week_end"], *insight(w).values()) for w in weekly["weeks"]] == [
            ("2026-10-05", "2026-10-11", *quiet.values()),
            ("2026-10-12", "2026-10-18", *quiet.values()),
            ("2026-10-19", "2026-10-25", *quiet.values()),
            # Ava 30 + Ben 30 + Cara 15 = 75.00 / 3 = 25.00; Nia's Shopify 20 (the connector copy is not counted) → 95.00
            ("2026-10-26", "2026-11-01", *expected_insight(3, "75.00", "25.00", 3, 3, 0, "95.00", 75 / 95).values()),
            # Max 15 + Dev 15 + Fay 52 + Eli 30 + Hana 26 = 138.00 / 5 = 27.60; Shopify Ava 35 + Gus 60 → 233.00
            ("2026-11-02", "2026-11-08", *expected_insight(5, "138.00", "27.60", 5, 5, 0, "233.00", 138 / 233).values()),
            # Nia 17 + Ben 30 + Ivan 45 + Kim 19 = 111.00 / 4 = 27.75; Ben ordered before (10-29); Shopify 31 + 16 + 20 → 178.00
            ("2026-11-09", "2026-11-15", *expected_insight(4, "111.00", "27.75", 4, 3, 1, "178.00", 111 / 178).values()),
        ]
        # SER: Ben, Fay ×2, Eli, Ben, Ivan = 6 units, 168.00 (list prices: Fay's coupon is not taken off);
        # LIP: Ava ×2, Max, Dev, Hana, Ivan, Kim = 7, 98.00; BALM: Cara, Hana, Nia = 3, 30.00
        assert products(weekly["top_products"]) == [("P-SER", 6, usd("168.00")), ("P-LIP", 7, usd("98.00")), ("P-BALM", 3, usd("30.00"))]
        assert [row["name"] for row in weekly["top_products"]] == ["Dew Serum", "Glow Lip Oil", "Cloud Balm"]

    def test_insights_for_the_last_3_weeks(self, day: Pipeline) -> None:
        weekly = report(day, "insights", {"weeks": 3})["weekly"]
        assert [w["week_start"] for w in weekly["weeks"]] == ["2026-10-26", "2026-11-02", "2026-11-09"]
        assert insight(weekly["totals"]) == expected_insight(12, "324.00", "27.00", 11, 11, 0, "506.00", 324 / 506)  # as the 6 weeks

    # -------------------------------------------------------------------------------------- crossover
    def test_crossover(self, day: Pipeline) -> None:
        """Sourced (first order at the address is TikTok's): Ava, Ben, Cara, Dev, Fay, Eli, Hana, Ivan, Kim, Omar, Luz = 11.
        Not sourced: Max (masked TikTok address; his Shopify order comes first at the real one), Nia (Shopify first),
        Jo (her TikTok order is cancelled, so her Shopify order is first), Gus (Shopify only).
        Crossed: Ava (3 spellings of one address, 2 Shopify orders) and Cara (own site); Ben's connector copy is no crossing."""
        body = report(day, "crossover", {"weeks": 4})
        assert body["time_zone"] == "America/Los_Angeles"
        assert (body["sourced_customers"], body["crossover_customers"]) == (11, 2)
        assert body["crossover_share"] == pytest.approx(2 / 11)
        assert body["non_crossover_share"] == pytest.approx(9 / 11)
        assert amounts(body["other_net_receipts"]) == usd("92.00")  # Ava 35.00 + 16.00, Cara 41.00
        assert [(b["other_orders"], b["customers"]) for b in body["breakdown"]] == [("1", 1), ("2", 1), ("3", 0), ("4", 0), ("5+", 0)]
        weeks = [(w["week_start"], w["crossed"], w["sourced"], w["cumulative_crossed"], w["cumulative_sourced"]) for w in body["weeks"]]
        assert weeks == [
            ("2026-10-26", 0, 3, 0, 3),  # Ava 10-27, Ben 10-29, Cara 10-31
            ("2026-11-02", 1, 4, 1, 7),  # Dev 11-04, Fay 11-05, Eli 11-06, Hana 11-07; Ava crossed 11-06
            ("2026-11-09", 0, 2, 1, 9),  # Ivan 11-13, Kim Sunday 11-15 23:30 (this week, not the next)
            ("2026-11-16", 1, 2, 2, 11),  # Omar 11-17, Luz today; Cara crossed 11-16
        ]
        assert [w["cumulative_share"] for w in body["weeks"]] == [0.0, pytest.approx(1 / 7), pytest.approx(1 / 9), pytest.approx(2 / 11)]
        people = by(body["customers"], "tiktok_customer_id")
        assert set(people) == {"tt-ava", "tt-cara"}
        ava, cara = people["tt-ava"], people["tt-cara"]
        assert ava["name"] == "Ava Thompson"
        assert (instant(ava["first_tiktok_order_at"]), instant(ava["first_other_order_at"])) == (
            instant("2026-10-27T20:00:00-07:00"),
            instant("2026-11-06T10:00:00-08:00"),
        )
        assert (ava["tiktok_orders"], ava["other_orders"], amounts(ava["other_net_receipts"])) == (1, 2, usd("51.00"))  # 35.00 + 16.00
        assert cara["name"] == "Cara Nguyen"
        assert (instant(cara["first_tiktok_order_at"]), instant(cara["first_other_order_at"])) == (
            instant("2026-10-31T00:30:00-07:00"),
            instant("2026-11-16T10:00:00-08:00"),
        )
        assert (cara["tiktok_orders"], cara["other_orders"], amounts(cara["other_net_receipts"])) == (1, 1, usd("41.00"))
        assert all(len(p["address_key"]) == 16 and int(p["address_key"], 16) >= 0 for p in body["customers"])

    def test_crossover_default_is_12_weeks_with_the_current_one(self, day: Pipeline) -> None:
        weeks = report(day, "crossover")["weeks"]
        assert [w["week_start"] for w in weeks][:1] + [w["week_start"] for w in weeks][-1:] == ["2026-08-31", "2026-11-16"]
        assert len(weeks) == 12
        assert [w.get("cumulative_share") for w in weeks[:8]] == [None] * 8  # no TikTok customer before 10-26

    # -------------------------------------------------------------------------------------- CSV exports
    def test_attributed_orders_csv(self, day: Pipeline) -> None:
        """Mon 10-26 .. Fri 11-06 (local): every order with a hard or soft (pending or confirmed) match; Dev's rejected
        one, the organic ones and the connector copy are not rows. Gus's order is 03:20 UTC on 11-07, 19:20 local on 11-06."""
        rows = export_csv(day, "attributed-orders", {"from": "2026-10-26", "to": "2026-11-06"})
        assert list(rows[0]) == list(ATTRIBUTED_ORDER_COLUMNS)
        got = {
            row["order_id"]: (
                row["method"],
                row["review_status"],
                row["post_url"],
                row["comment_text"],
                row["flow_name"],
                row["keywords"],
                row["creator"],
                row["coupon"],
                row["time_to_order_seconds"],
                D(row["total"]),
                row["counts_as_attributed"],
            )
            for row in rows
        }
        assert got == {
            tt("1001"): ("conversation", "", V1_URL, AVA_COMMENT, "Lip oil flow", "LINK", "", "", "3600", D("30.00"), "true"),
            tt("1002"): ("conversation", "", V2_URL, "glow", "Serum flow", "glow", "", "", "86400", D("30.00"), "true"),
            tt("1003"): ("conversation_soft", "confirmed", V1_URL, "link pls", "Lip oil flow", "link", "", "", "55800", D("15.00"), "true"),
            tt("1006"): ("coupon", "", "", "", "", "", "maya", "MAYA15", "72000", D("52.00"), "true"),
            tt("1005"): ("conversation_soft", "pending", V1_URL, "LINK", "Lip oil flow", "LINK", "", "", "46800", D("30.00"), "false"),
            "5004": ("ad_click", "", "", "", "", "", "", "", "2400", D("60.00"), "true"),
        }
        assert [row["order_id"] for row in rows] == [tt("1001"), tt("1002"), tt("1003"), tt("1006"), tt("1005"), "5004"]  # by time

    def test_customers_csv(self, day: Pipeline) -> None:
        everyone = export_csv(day, "customers", ALL_DAYS)
        assert sorted(row["tiktok_customer_id"] for row in everyone) == sorted(
            f"tt-{n}" for n in ("ava", "ben", "cara", "dev", "eli", "fay", "hana", "ivan", "kim", "luz", "max", "nia", "omar")
        )  # 13: not Jo (cancelled), nor the Shopify-only or own-site buyers
        last_7 = export_csv(day, "customers", {"from": "2026-11-11", "to": "2026-11-17"})
        assert sorted(row["tiktok_customer_id"] for row in last_7) == ["tt-ben", "tt-ivan", "tt-kim", "tt-omar"]

    def test_crossover_csv(self, day: Pipeline) -> None:
        rows = by(export_csv(day, "crossover"), "tiktok_customer_id")
        assert {who: (row["other_orders"], row["currency"], D(row["other_net_receipts"])) for who, row in rows.items()} == {
            "tt-ava": ("2", "USD", D("51.00")),
            "tt-cara": ("1", "USD", D("41.00")),
        }

    # -------------------------------------------------------------------------------------- every report as CSV
    @pytest.mark.parametrize(
        ("name", "table", "query"), CSV_TABLES, ids=[f"{n}-{q.get('dimension', '')}{t or 'default'}" for n, t, q in CSV_TABLES]
    )
    def test_each_report_table_as_csv_equals_its_json(self, day: Pipeline, name: str, table: str | None, query: dict[str, str]) -> None:
        """Given the replayed day, when a report is asked for with ?format=csv (and a table), then the CSV has the JSON's
        rows in the JSON's order, one column per field, a money map as one column per currency, every cell its value."""
        body = report(day, name, query)
        wanted = table or DEFAULT_TABLE[name]
        asked = {**query, "format": "csv", **({"table": table} if table else {})}
        response = team_call(day, "GET", TENANT, f"reports/{name}", query=urlencode(asked))
        assert response.status == 200, response.body
        assert header_of(response, "content-type").startswith("text/csv")
        named = f"{name}-{query['dimension']}" if name == "channels" else name
        assert f'filename="{named}-{wanted}' in header_of(response, "content-disposition")
        rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8"))))
        expected = json_table(body, *JSON_TABLES[(name, wanted)])
        assert expected, f"the fixture gives {name}/{wanted} no rows: the test would prove nothing"
        assert len(rows) == len(expected)
        fields = set().union(*expected)
        # An optional field every row leaves out (responses omit nulls) is still a column: an empty one.
        unnamed = set(rows[0]) - fields
        assert fields <= set(rows[0]) and all(row[column] == "" for row in rows for column in unnamed), (
            "the columns are not the JSON's fields"
        )
        for got, want in zip(rows, expected, strict=True):
            assert {column: same(got[column], want.get(column)) for column in got} == dict.fromkeys(got, True), (got, want)

    def test_accept_text_csv_asks_for_the_same_csv_as_format_csv(self, day: Pipeline) -> None:
        """Given the posts report, when it is asked for with `Accept: text/csv`, then the answer is the ?format=csv one."""
        by_query = team_call(day, "GET", TENANT, "reports/posts", query=urlencode({**ALL_DAYS, "format": "csv"}))
        headers = {**api_key(TENANT), "Accept": "text/csv"}
        by_accept = day.call("GET", f"/v1/{TENANT}/reports/posts", None, headers, urlencode(ALL_DAYS))
        assert (by_accept.status, by_accept.body) == (200, by_query.body)
        assert header_of(by_accept, "vary") == "Accept"

    def test_an_unknown_table_is_a_422_naming_table_and_the_choices(self, day: Pipeline) -> None:
        response = team_call(day, "GET", TENANT, "reports/flows", query=urlencode({"format": "csv", "table": "stepz"}))
        assert response.status == 422, response.body
        error = response.json()["error"]
        assert error["field"] == "table" and "flows, steps" in error["message"]

    # -------------------------------------------------------------------------------------- at-least-once delivery (last)
    def test_every_stream_record_delivered_twice_leaves_every_counter_unchanged(self, day: Pipeline) -> None:
        """Given the replayed day, when every record on the table's stream is delivered once more (every order in every
        state it was in, every buyer touchpoint), then no counter item changes and no record fails."""
        before = report_day.counter_items(day)
        assert before, "the replay wrote no counter items"
        failed = report_day.redeliver_every_stream_record(day)
        after = report_day.counter_items(day)
        changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
        assert changed == [], [(key, before.get(key), after.get(key)) for key in changed]
        assert failed == [], f"redelivered stream records failed (Lambda would retry them, then give up): {failed}"
        assert get_order(day, TENANT, tt("1007")).json()["attribution"]["cancelled"] is True

    def test_a_redelivered_older_order_state_is_skipped_not_failed(self, day: Pipeline) -> None:
        """Given Jo's order is stored cancelled, when the stream record of its earlier, uncancelled state is delivered
        again, then the function skips it: no failure (which Lambda would retry, then send to the on-failure destination)
        and no change."""
        before = report_day.counter_items(day)
        jo = f"T#{TENANT}#O#tiktok_shop#{tt('1007')}"
        older = [
            r
            for r in report_day.stream_records(day)
            if r["dynamodb"]["Keys"]["PK"]["S"] == jo
            and r["dynamodb"].get("NewImage", {}).get("order_status") == {"S": "awaiting_shipment"}
        ]
        assert older, "the stream holds Jo's order before its cancellation"
        failed_ids = report_day.deliver(day, older)
        failed = [report_day.describe(r) for r in older if r["dynamodb"]["SequenceNumber"] in failed_ids]
        assert failed == []
        day.pump.drain()
        assert report_day.counter_items(day) == before
        assert get_order(day, TENANT, tt("1007")).json()["attribution"]["cancelled"] is True


# ------------------------------------------------------------------------------------------------ changes move figures
def test_late_touchpoint_cancellation_and_reviews_move_exactly_their_figures(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the day's touchpoints and orders only, when Ivan's ad click arrives late, then Jo's order is cancelled, then
    Cara's soft match is confirmed and Dev's rejected, then each step moves exactly the figures it should."""
    report_day.hold_clock(monkeypatch)
    report_day.send_initial(pipeline)

    def method(order_id: str) -> tuple[str, str | None]:
        attribution = get_order(pipeline, TENANT, order_id).json()["attribution"]
        return attribution["method"], attribution.get("review_status")

    def posts() -> dict[str, dict[str, Any]]:
        return {post: attributed(row) for post, row in by(report(pipeline, "posts", ALL_DAYS)["rows"], "post_id").items()}

    def tto() -> tuple[int, float]:
        body = report(pipeline, "time-to-order", ALL_DAYS)
        return body["orders"], body["mean_seconds"]

    def totals() -> tuple[int, dict[str, Decimal], int]:
        all_time = report(pipeline, "insights")["all_time"]
        return all_time["orders"], amounts(all_time["net_receipts"]), all_time["customers"]

    def crossover() -> tuple[int, int, dict[str, Decimal]]:
        body = report(pipeline, "crossover")
        return body["sourced_customers"], body["crossover_customers"], amounts(body["other_net_receipts"])

    def serum_step_2_orders() -> int:
        serum = by(report(pipeline, "flows", ALL_DAYS)["rows"], "flow_id")["flow-serum"]
        return int(serum["steps"][1]["orders_at_step"])

    # Given: Ivan organic, Jo attributed and not cancelled, Cara and Dev pending.
    assert [method(tt(n)) for n in ("1009", "1007", "1003", "1004")] == [
        ("organic", None),
        ("conversation", None),
        ("conversation_soft", "pending"),
        ("conversation_soft", "pending"),
    ]
    first_posts = {
        V1: figures(hard=(2, "47.00"), soft_pending=(2, "45.00"), driven=(2, "47.00")),  # Ava 30 + Kim 17; Cara 15 + Eli 30 pending
        V2: figures(hard=(2, "60.00"), soft_pending=(1, "15.00"), driven=(2, "60.00")),  # Ben 30 + Jo 30; Dev 15 pending
        V3: NOTHING,
    }
    assert posts() == first_posts
    assert tto() == (7, pytest.approx(177300 / 7))  # Ava 3600 + Ben 86400 + Fay 72000 + Gus 2400 + Hana 300 + Jo 3600 + Kim 9000
    assert totals() == (15, usd("394.00"), 14)  # with Jo: 14 + 1 orders, 364.00 + 30.00, 13 + 1 customers
    assert crossover() == (12, 3, usd("112.00"))  # Jo sourced by her TikTok order and crossed to Shopify 11-14: + 20.00
    assert serum_step_2_orders() == 2  # Ben and Jo

    # When Ivan's ad click (18:00, 3 hours before his 21:00 order) arrives after the order, within the settle period.
    report_day.send_late_touchpoints(pipeline)
    assert method(tt("1009")) == ("ad_click", None)
    assert tto() == (8, pytest.approx(188100 / 8))  # + Ivan's 10800 s
    assert posts() == first_posts  # an ad click names no post
    assert totals() == (15, usd("394.00"), 14)  # the order counted already; only its attribution changed

    # When Jo's order is cancelled (after it was attributed).
    report_day.send_order_updates(pipeline)
    assert posts() == {**first_posts, V2: figures(hard=(1, "30.00"), soft_pending=(1, "15.00"), driven=(1, "30.00"))}  # − Jo 30.00
    assert tto() == (7, pytest.approx(184500 / 7))  # 188100 − Jo's 3600
    assert totals() == (14, usd("364.00"), 13)
    assert crossover() == (11, 2, usd("92.00"))  # Jo's Shopify order is now the first at her address: not sourced
    assert serum_step_2_orders() == 1  # Ben

    # When a person confirms Cara's soft match and rejects Dev's.
    report_day.send_reviews(pipeline)
    assert [method(tt(n)) for n in ("1003", "1004")] == [("conversation_soft", "confirmed"), ("organic", "rejected")]
    assert posts() == {
        V1: figures(hard=(2, "47.00"), soft_pending=(1, "30.00"), soft_confirmed=(1, "15.00"), driven=(3, "62.00")),  # Cara drives
        V2: figures(hard=(1, "30.00"), driven=(1, "30.00")),  # Dev's rejected match leaves every attributed figure
        V3: NOTHING,
    }
    assert tto() == (8, pytest.approx(240300 / 8))  # + Cara's 55800: the figures of the whole replay
    assert totals() == (14, usd("364.00"), 13)  # reviews move no order figure
    assert crossover() == (11, 2, usd("92.00"))
