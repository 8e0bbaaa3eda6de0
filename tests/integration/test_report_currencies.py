"""Money is never added across currencies: the report day (all USD) plus a Canadian launch in CAD, through the real
handlers, and every report, insights, crossover, the dashboard and the CSVs read back over HTTP.

The CAD side (events/report_day/README.md, "A second currency", does the arithmetic): on top of the whole report day,
Mia (Toronto) buys lip oil on TikTok Shop after a V1 conversation (CAD 20.00, Thu 11-12), then on Shopify in CAD
(25.00, Sat 11-14) and on the US own site in USD (12.00, Mon 11-16); Noah uses coupon MAYA15 (CAD 35.00, Fri 11-13);
Owen buys balm with no touch (CAD 13.00, Sun 11-15); Rhea buys serum after a V2 conversation (CAD 33.00, Tue 11-17);
Zoe's own-site order (Wed 11-11, 40.00) is first sent in USD by mistake. Then Owen's leo click arrives late (his order
becomes creator_link), Rhea's order is cancelled, and Zoe's is corrected to CAD.

Every amount is a map from currency code to decimal string; a figure in one currency is compared with the one the
report day alone gives (tests/integration/test_reports.py), the other with the CAD orders above.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import Pipeline
from tests.integration import report_day
from tests.integration.report_day import TENANT
from tests.integration.senders import get_order, team_call
from tests.integration.test_reports import ALL_DAYS, V1, V2, V3, amounts, attributed, by, export_csv, report, tt
from tests.unit.test_dashboard import Page, as_api_shows, walk

D = Decimal
CODE = re.compile(r"[A-Z]{3}")
LAST_7 = {"from": "2026-11-12", "to": "2026-11-17"}  # Thu .. Tue: more CAD driven orders than USD ones
ROW_IDS = ("post_id", "flow_id", "keyword", "creator", "coupon", "product_id", "address_key", "day", "week_start", "step", "other_orders")
# What the dashboard draws, by the first part of a figure's name: the endpoint that answers it.
DASHBOARD_SOURCES = {
    "insights": "reports/insights",
    "posts": "reports/posts",
    "flows": "reports/flows",
    "keywords": "reports/keywords",
    "creators": "reports/creators",
    "time_to_order": "reports/time-to-order",
    "crossover": "reports/crossover",
}


def money(**per_currency: str) -> dict[str, Decimal]:
    """An expected amount per currency: money(CAD="20.00", USD="47.00")."""
    return {code: D(text) for code, text in per_currency.items()}


def classes(
    hard: tuple[int, dict[str, Decimal]] = (0, {}),
    soft_pending: tuple[int, dict[str, Decimal]] = (0, {}),
    soft_confirmed: tuple[int, dict[str, Decimal]] = (0, {}),
    driven: tuple[int, dict[str, Decimal]] = (0, {}),
) -> dict[str, Any]:
    """Expected attributed figures: (orders, revenue per currency) per class."""
    return {"hard": hard, "soft_pending": soft_pending, "soft_confirmed": soft_confirmed, "driven": driven}


def money_maps(doc: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every money (or per-currency share) map in a report body, by a path that names rows by their id, not index."""
    if isinstance(doc, dict):
        if doc and all(CODE.fullmatch(key) for key in doc):
            yield path, doc
            return
        for key, value in doc.items():
            yield from money_maps(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for index, item in enumerate(doc):
            ident = next((str(item[k]) for k in ROW_IDS if isinstance(item, dict) and k in item), str(index))
            yield from money_maps(item, f"{path}[{ident}]")


def in_currency(bodies: dict[str, Any], code: str) -> dict[str, Any]:
    """Every figure of the reports in one currency, by report and path."""
    return {f"{name}{path}": amount[code] for name, body in bodies.items() for path, amount in money_maps(body) if code in amount}


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The figures that differ between two readings: path → (before, after), None where a figure is absent."""
    return {path: (before.get(path), after.get(path)) for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)}


def every_report(api: Pipeline) -> dict[str, Any]:
    """Every report with money in it, over the whole fixture (insights and crossover at their defaults)."""
    bodies = {name: report(api, name, ALL_DAYS) for name in ("posts", "flows", "keywords", "creators", "coupons")}
    bodies["insights"] = report(api, "insights")
    bodies["crossover"] = report(api, "crossover")
    return bodies


def share(part: float, whole: float) -> Any:
    """An expected share, compared approximately."""
    return pytest.approx(part / whole)


# ------------------------------------------------------------------------------------------------ the two-currency day
@pytest.fixture(scope="class")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The report day and the Canadian launch replayed once; the last tests change it (late click, cancellation,
    currency correction) and then deliver every stream record again."""
    with report_day.offline_world(tmp_path_factory.mktemp("report-currencies")) as api:
        report_day.replay(api)
        report_day.send_currencies(api)
        yield api


class TestUsdAndCad:
    """Given a tenant with USD and CAD orders, when any report is read, then each currency has its own figure and no
    figure is their sum."""

    def test_the_canadian_orders_attribute_as_documented(self, world: Pipeline) -> None:
        """Given the CAD orders, when each is read back, then it carries its currency and the expected attribution."""
        got = {}
        for number in ("2001", "2002", "2003", "2004"):
            doc = get_order(world, TENANT, tt(number)).json()
            got[number] = (doc["order"]["currency"], doc["attribution"]["method"], doc["attribution"]["currency"])
        assert got == {
            "2001": ("CAD", "conversation", "CAD"),  # Mia: V1, "LINK", flow-lip step 2
            "2002": ("CAD", "coupon", "CAD"),  # Noah: MAYA15 → maya
            "2003": ("CAD", "organic", "CAD"),  # Owen: no touch (yet)
            "2004": ("CAD", "conversation", "CAD"),  # Rhea: V2, "glow", flow-serum step 2
        }
        assert world.pump.dead_letters == []

    def test_posts_show_usd_and_cad_apart(self, world: Pipeline) -> None:
        """Given V1 and V2 with USD and CAD orders, when the posts report is read, then each post's revenue is a figure
        per currency, and the main currency (USD: 4 driven orders to CAD's 2) ranks them."""
        body = report(world, "posts", ALL_DAYS)
        assert (body["main_currency"], [row["post_id"] for row in body["rows"]]) == ("USD", [V1, V2, V3])
        rows = by(body["rows"], "post_id")
        assert (rows[V1]["comments"], rows[V1]["dms"], rows[V2]["comments"], rows[V2]["dms"]) == (6, 6, 5, 5)  # + Mia, + Rhea
        assert attributed(rows[V1]) == classes(
            hard=(3, money(CAD="20.00", USD="47.00")),  # Ava 30 + Kim 17 in USD; Mia 20 in CAD
            soft_pending=(1, money(USD="30.00")),  # Eli
            soft_confirmed=(1, money(USD="15.00")),  # Cara
            driven=(4, money(CAD="20.00", USD="62.00")),  # never CAD + USD = 82.00
        )
        assert attributed(rows[V2]) == classes(hard=(2, money(CAD="33.00", USD="30.00")), driven=(2, money(CAD="33.00", USD="30.00")))
        assert attributed(rows[V3]) == classes()

    def test_the_posts_csv_has_a_column_per_currency_and_never_their_sum(self, world: Pipeline) -> None:
        """Given V1 and V2 with USD and CAD orders, when the posts report is asked for as CSV, then each money figure is
        one column per currency (driven_revenue_CAD, driven_revenue_USD), each post's cells its amounts, and no column adds them."""
        response = team_call(world, "GET", TENANT, "reports/posts", query=urlencode({**ALL_DAYS, "format": "csv"}))
        assert response.status == 200, response.body
        rows = {row["post_id"]: row for row in csv.DictReader(io.StringIO(response.body.decode()))}
        header = list(next(iter(rows.values())))
        assert [c for c in header if c.startswith("driven_revenue")] == ["driven_revenue_CAD", "driven_revenue_USD"]
        assert (rows[V1]["driven_revenue_CAD"], rows[V1]["driven_revenue_USD"]) == ("20.00", "62.00")
        assert (rows[V3]["driven_revenue_CAD"], rows[V3]["driven_revenue_USD"]) == ("", "")  # nothing sold: empty, as the JSON's {}

    def test_sort_by_revenue_ranks_by_the_main_currency_first(self, world: Pipeline) -> None:
        """Given Thu 11-12 .. Tue 11-17, when posts are sorted by revenue, then CAD is the main currency (Mia and Rhea
        drove 2 CAD orders, Kim 1 USD one) and V2 (CAD 33.00) ranks before V1 (CAD 20.00, USD 17.00): a sum would put
        V1 first (37 > 33), and so would USD alone."""
        body = report(world, "posts", LAST_7)
        assert body["main_currency"] == "CAD"
        assert [row["post_id"] for row in body["rows"]][:2] == [V2, V1]
        rows = by(body["rows"], "post_id")
        assert amounts(rows[V2]["driven_revenue"]) == money(CAD="33.00")
        assert amounts(rows[V1]["driven_revenue"]) == money(CAD="20.00", USD="17.00")

    def test_flows_and_keywords_keep_each_currency(self, world: Pipeline) -> None:
        """Given Mia's and Rhea's conversations, when flows and keywords are read, then their figures are V1's and V2's,
        per currency, and the funnels count Mia and Rhea."""
        flows = by(report(world, "flows", ALL_DAYS)["rows"], "flow_id")
        lip, serum = flows["flow-lip"], flows["flow-serum"]
        assert [(s["step"], s["users"], s["orders_at_step"]) for s in lip["steps"]] == [(1, 6, 0), (2, 5, 3), (3, 1, 1)]
        assert [(s["step"], s["users"], s["orders_at_step"]) for s in serum["steps"]] == [(1, 5, 0), (2, 4, 2)]
        assert amounts(lip["driven_revenue"]) == money(CAD="20.00", USD="62.00")
        assert amounts(serum["driven_revenue"]) == money(CAD="33.00", USD="30.00")
        keywords = by(report(world, "keywords", ALL_DAYS)["rows"], "keyword")
        assert (keywords["link"]["fires"], amounts(keywords["link"]["driven_revenue"])) == (6, money(CAD="20.00", USD="62.00"))
        assert (keywords["glow"]["fires"], amounts(keywords["glow"]["driven_revenue"])) == (5, money(CAD="33.00", USD="30.00"))
        assert amounts(keywords["link"]["soft_pending_revenue"]) == money(USD="30.00")  # Eli's pending match stays USD only

    def test_creators_and_coupons_keep_each_currency(self, world: Pipeline) -> None:
        """Given Noah's MAYA15 order in CAD beside Fay's in USD, when creators and coupons are read, then maya and
        MAYA15 show USD 52.00 and CAD 35.00, two orders, never 87.00."""
        creators = by(report(world, "creators", ALL_DAYS)["rows"], "creator")
        assert (creators["maya"]["driven_orders"], amounts(creators["maya"]["driven_revenue"])) == (2, money(CAD="35.00", USD="52.00"))
        assert (creators["leo"]["driven_orders"], amounts(creators["leo"]["driven_revenue"])) == (1, money(USD="26.00"))
        coupon = report(world, "coupons", ALL_DAYS)["rows"][0]
        assert (coupon["coupon"], coupon["driven_orders"], amounts(coupon["revenue"])) == ("MAYA15", 2, money(CAD="35.00", USD="52.00"))

    def test_insights_divide_each_currency_by_itself(self, world: Pipeline) -> None:
        """Given TikTok orders in USD (the report day) and CAD (20 + 35 + 13 + 33 = 101.00), when the insights are read,
        then net receipts, average order value, all stores' receipts and TikTok's share are per currency."""
        body = report(world, "insights")
        all_time = body["all_time"]
        assert (all_time["orders"], all_time["customers"], all_time["new_customers"], all_time["repeat_customers"]) == (18, 17, 17, 1)
        assert amounts(all_time["net_receipts"]) == money(CAD="101.00", USD="364.00")
        assert amounts(all_time["average_order_value"]) == money(CAD="25.25", USD="26.00")  # 101 / 4; 364 / 14
        # other stores: USD 223.00 + Mia's own-site 12.00 + Zoe's 40.00 (sent in USD); CAD: Mia's Shopify 25.00
        assert amounts(all_time["all_stores_net_receipts"]) == money(CAD="126.00", USD="639.00")
        assert all_time["tiktok_share"] == {"CAD": share(101, 126), "USD": share(364, 639)}

        last = body["last_7_days"]
        totals = last["totals"]
        assert (totals["orders"], totals["customers"], totals["new_customers"], totals["repeat_customers"]) == (8, 8, 7, 1)
        assert amounts(totals["net_receipts"]) == money(CAD="101.00", USD="104.00")
        assert amounts(totals["average_order_value"]) == money(CAD="25.25", USD="26.00")
        assert amounts(totals["all_stores_net_receipts"]) == money(CAD="126.00", USD="264.00")  # USD 212 + Zoe 40 + Mia 12
        assert [(d["day"], amounts(d["net_receipts"]), amounts(d["all_stores_net_receipts"])) for d in last["days"]] == [
            ("2026-11-11", money(USD="30.00"), money(USD="70.00")),  # Ben; Zoe's 40.00 (in USD, as sent)
            ("2026-11-12", money(CAD="20.00"), money(CAD="20.00", USD="31.00")),  # Mia; Max at Shopify
            ("2026-11-13", money(CAD="35.00", USD="45.00"), money(CAD="35.00", USD="61.00")),  # Noah, Ivan; Ava at Shopify
            ("2026-11-14", {}, money(CAD="25.00", USD="20.00")),  # Mia and Jo at Shopify only
            ("2026-11-15", money(CAD="13.00", USD="19.00"), money(CAD="13.00", USD="19.00")),  # Owen, Kim
            ("2026-11-16", {}, money(USD="53.00")),  # Cara 41.00 and Mia 12.00 on the own site
            ("2026-11-17", money(CAD="33.00", USD="10.00"), money(CAD="33.00", USD="10.00")),  # Rhea, Omar
        ]
        assert last["days"][1]["tiktok_share"] == {"CAD": 1.0, "USD": 0.0}

        weekly = body["weekly"]["totals"]  # Mon 10-05 .. Sun 11-15: Mia, Noah, Owen in CAD (68.00 over 3)
        assert (weekly["orders"], weekly["customers"]) == (15, 14)
        assert amounts(weekly["net_receipts"]) == money(CAD="68.00", USD="324.00")
        assert amounts(weekly["average_order_value"]) == money(CAD="22.67", USD="27.00")  # 68 / 3 = 22.666… → 22.67
        assert amounts(weekly["all_stores_net_receipts"]) == money(CAD="93.00", USD="546.00")

    def test_top_products_rank_by_each_periods_main_currency(self, world: Pipeline) -> None:
        """Given the last 7 days with 4 TikTok orders in each currency (a tie: CAD, by code, is main) and the weeks
        with 12 USD to 3 CAD, when top products are read, then sales are per currency and ranked in the main one."""
        body = report(world, "insights")
        last = [(p["product_id"], p["units"], amounts(p["sales"])) for p in body["last_7_days"]["top_products"]]
        assert last == [
            ("P-SER", 4, money(CAD="66.00", USD="56.00")),  # Noah 36 + Rhea 30; Ben 28 + Ivan 28
            ("P-LIP", 3, money(CAD="18.00", USD="28.00")),  # Mia; Ivan 14 + Kim 14
            ("P-BALM", 2, money(CAD="12.00", USD="10.00")),  # Owen; Omar
        ]
        weeks = [(p["product_id"], p["units"], amounts(p["sales"])) for p in body["weekly"]["top_products"]]
        assert weeks == [
            ("P-SER", 7, money(CAD="36.00", USD="168.00")),
            ("P-LIP", 8, money(CAD="18.00", USD="98.00")),
            ("P-BALM", 4, money(CAD="12.00", USD="30.00")),
        ]

    def test_crossover_and_its_csv_keep_each_currency(self, world: Pipeline) -> None:
        """Given Mia crossed from TikTok to Shopify (CAD 25.00) and the own site (USD 12.00), when the crossover report
        and crossover.csv are read, then her receipts and the totals are per currency, one CSV row per currency."""
        body = report(world, "crossover", {"weeks": 4})
        assert (body["sourced_customers"], body["crossover_customers"]) == (15, 3)  # + Mia, Noah, Owen, Rhea; + Mia
        assert amounts(body["other_net_receipts"]) == money(CAD="25.00", USD="104.00")  # USD 92.00 + Mia's 12.00
        assert [(b["other_orders"], b["customers"]) for b in body["breakdown"]][:2] == [("1", 1), ("2", 2)]  # Cara; Ava, Mia
        people = by(body["customers"], "tiktok_customer_id")
        assert [p["tiktok_customer_id"] for p in body["customers"]] == ["tt-ava", "tt-mia", "tt-cara"]
        assert (people["tt-mia"]["other_orders"], amounts(people["tt-mia"]["other_net_receipts"])) == (2, money(CAD="25.00", USD="12.00"))
        rows = export_csv(world, "crossover")
        assert [(r["tiktok_customer_id"], r["other_orders"], r["currency"], D(r["other_net_receipts"])) for r in rows] == [
            ("tt-ava", "2", "USD", D("51.00")),
            ("tt-mia", "1", "CAD", D("25.00")),
            ("tt-mia", "1", "USD", D("12.00")),
            ("tt-cara", "1", "USD", D("41.00")),
        ]

    def test_attributed_orders_csv_names_each_orders_currency(self, world: Pipeline) -> None:
        """Given attributed orders in both currencies from Thu 11-12 to Tue 11-17, when attributed-orders.csv is read,
        then each row's total sits beside its own order's currency."""
        rows = export_csv(world, "attributed-orders", LAST_7)
        assert list(rows[0])[4:6] == ["currency", "total"]
        assert [(r["order_id"], r["method"], r["currency"], D(r["total"])) for r in rows] == [
            (tt("2001"), "conversation", "CAD", D("20.00")),  # Mia
            (tt("2002"), "coupon", "CAD", D("35.00")),  # Noah
            (tt("1009"), "ad_click", "USD", D("45.00")),  # Ivan
            (tt("1011"), "conversation", "USD", D("17.00")),  # Kim
            (tt("2004"), "conversation", "CAD", D("33.00")),  # Rhea
        ]

    def test_the_dashboard_shows_each_currency_as_the_api_does(self, world: Pipeline) -> None:
        """Given the two-currency tenant, when GET /dashboard is read, then every report figure on it equals the
        endpoint's value at its path, each money figure is one currency printed with its code, and CAD is there."""
        response = team_call(world, "GET", TENANT, "dashboard")
        assert response.status == 200, response.body
        page = Page(response.body.decode("utf-8"))
        answers = {prefix: report(world, endpoint.split("/", 1)[1]) for prefix, endpoint in DASHBOARD_SOURCES.items()}
        compared, cad = 0, 0
        for element in page.figures():
            name, value, text = element["attrs"]["data-figure"], element["attrs"]["data-value"], element["text"]
            prefix = re.match(r"[^.\[]+", name)
            if prefix is None or prefix.group(0) not in answers:
                continue
            assert value == as_api_shows(walk(answers[prefix.group(0)], name[len(prefix.group(0)) :].lstrip("."))), name
            compared += 1
            code = name.rsplit(".", 1)[-1]
            if CODE.fullmatch(code) and element["tag"] in ("span", "text"):
                assert text.startswith(f"{code} "), (name, text)
                cad += code == "CAD"
        assert compared > 100 and cad >= 10

    # ------------------------------------------------------------------------------------------- changes (they run last)
    def test_a_reattribution_and_a_cancellation_of_cad_orders_move_only_cad_figures(self, world: Pipeline) -> None:
        """Given every report read, when Owen's late leo click re-attributes his CAD order and Rhea's CAD order is
        cancelled, then no USD figure of any report changes, and exactly Owen's and Rhea's CAD amounts move."""
        before = every_report(world)
        report_day.send_currency_changes(world)
        after = every_report(world)
        assert get_order(world, TENANT, tt("2003")).json()["attribution"]["method"] == "creator_link"
        assert changed(in_currency(before, "USD"), in_currency(after, "USD")) == {}
        gone = "2026-11-17"
        assert changed(in_currency(before, "CAD"), in_currency(after, "CAD")) == {
            # Owen's 13.00 now drives leo
            "creators.rows[leo].driven_revenue": (None, "13.00"),
            "creators.rows[leo].revenue": (None, "13.00"),
            # Rhea's 33.00 leaves V2, flow-serum, glow, and the TikTok figures of her day, the last 7 days and all time
            f"posts.rows[{V2}].driven_revenue": ("33.00", None),
            f"posts.rows[{V2}].revenue": ("33.00", None),
            "flows.rows[flow-serum].driven_revenue": ("33.00", None),
            "flows.rows[flow-serum].revenue": ("33.00", None),
            "keywords.rows[glow].driven_revenue": ("33.00", None),
            "keywords.rows[glow].revenue": ("33.00", None),
            "insights.all_time.net_receipts": ("101.00", "68.00"),
            "insights.all_time.average_order_value": ("25.25", "22.67"),
            "insights.all_time.all_stores_net_receipts": ("126.00", "93.00"),
            "insights.all_time.tiktok_share": (share(101, 126), share(68, 93)),
            "insights.last_7_days.totals.net_receipts": ("101.00", "68.00"),
            "insights.last_7_days.totals.average_order_value": ("25.25", "22.67"),
            "insights.last_7_days.totals.all_stores_net_receipts": ("126.00", "93.00"),
            "insights.last_7_days.totals.tiktok_share": (share(101, 126), share(68, 93)),
            f"insights.last_7_days.days[{gone}].net_receipts": ("33.00", None),
            f"insights.last_7_days.days[{gone}].average_order_value": ("33.00", None),
            f"insights.last_7_days.days[{gone}].all_stores_net_receipts": ("33.00", None),
            f"insights.last_7_days.days[{gone}].tiktok_share": (1.0, None),
            "insights.last_7_days.top_products[P-SER].sales": ("66.00", "36.00"),
        }
        assert (after["insights"]["all_time"]["orders"], after["crossover"]["sourced_customers"]) == (17, 14)  # Rhea's order left

    def test_an_order_whose_currency_is_corrected_moves_from_usd_to_cad(self, world: Pipeline) -> None:
        """Given Zoe's own-site order counted in USD, when its newer state says CAD, then its 40.00 leaves every USD
        all-stores figure and joins the CAD ones (and TikTok's shares follow); counts do not move."""
        before = every_report(world)
        report_day.send_currency_correction(world)
        after = every_report(world)
        assert changed(in_currency(before, "USD"), in_currency(after, "USD")) == {
            "insights.all_time.all_stores_net_receipts": ("639.00", "599.00"),
            "insights.all_time.tiktok_share": (share(364, 639), share(364, 599)),
            "insights.last_7_days.totals.all_stores_net_receipts": ("264.00", "224.00"),
            "insights.last_7_days.totals.tiktok_share": (share(104, 264), share(104, 224)),
            "insights.last_7_days.days[2026-11-11].all_stores_net_receipts": ("70.00", "30.00"),
            "insights.last_7_days.days[2026-11-11].tiktok_share": (share(30, 70), 1.0),
            "insights.weekly.totals.all_stores_net_receipts": ("546.00", "506.00"),
            "insights.weekly.totals.tiktok_share": (share(324, 546), share(324, 506)),
            "insights.weekly.weeks[2026-11-09].all_stores_net_receipts": ("218.00", "178.00"),
            "insights.weekly.weeks[2026-11-09].tiktok_share": (share(111, 218), share(111, 178)),
        }
        assert changed(in_currency(before, "CAD"), in_currency(after, "CAD")) == {
            "insights.all_time.all_stores_net_receipts": ("93.00", "133.00"),
            "insights.all_time.tiktok_share": (share(68, 93), share(68, 133)),
            "insights.last_7_days.totals.all_stores_net_receipts": ("93.00", "133.00"),
            "insights.last_7_days.totals.tiktok_share": (share(68, 93), share(68, 133)),
            "insights.last_7_days.days[2026-11-11].all_stores_net_receipts": (None, "40.00"),
            "insights.last_7_days.days[2026-11-11].tiktok_share": (None, 0.0),
            "insights.weekly.totals.all_stores_net_receipts": ("93.00", "133.00"),
            "insights.weekly.totals.tiktok_share": (share(68, 93), share(68, 133)),
            "insights.weekly.weeks[2026-11-09].all_stores_net_receipts": ("93.00", "133.00"),
            "insights.weekly.weeks[2026-11-09].tiktok_share": (share(68, 93), share(68, 133)),
        }
        assert after["insights"]["all_time"]["orders"] == before["insights"]["all_time"]["orders"]

    def test_every_stream_record_delivered_twice_leaves_every_counter_unchanged(self, world: Pipeline) -> None:
        """Given the two-currency tenant after every change, when every stream record is delivered once more (Zoe's USD
        state among them), then no counter item changes and no record fails."""
        before = report_day.counter_items(world)
        failed = report_day.redeliver_every_stream_record(world)
        after = report_day.counter_items(world)
        assert [key for key in set(before) | set(after) if before.get(key) != after.get(key)] == []
        assert failed == []
        assert get_order(world, TENANT, "WS-3002", source="other").json()["order"]["currency"] == "CAD"
