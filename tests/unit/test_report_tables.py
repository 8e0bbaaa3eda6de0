"""Reports as CSV (issue 12, item 3): which form a request asks for, and each report table's columns and cells.

The end-to-end proof that every table of every report equals its JSON is in tests/integration/test_reports.py; these
pin the rules a reader of the CSV relies on: column order, one column per currency, empty tables, formula-safe text.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.api.negotiation import report_format
from ordertrail.core.errors import Unprocessable
from ordertrail.core.report_models import FlowRow, FlowsReport, FlowStep, KeywordRow, KeywordsReport, PostRow, PostsReport, ReportRange
from ordertrail.reports.csv_format import rows_to_csv
from ordertrail.reports.report_tables import TABLES, choose, report_table

SPAN = ReportRange(from_=date(2026, 11, 1), to=date(2026, 11, 30), time_zone="UTC", days=30)
PLAIN_POST_COLUMNS = ["post_id", "url", "comments", "dms", "orders", "soft_pending_orders", "soft_confirmed_orders", "driven_orders"]


def read(report_name: str, report: PostsReport | FlowsReport | KeywordsReport, table: str) -> list[dict[str, str]]:
    """A report table as the CSV a client downloads, read back by header."""
    made = report_table(report_name, report, table)
    return list(csv.DictReader(io.StringIO("".join(rows_to_csv(made.header, made.rows)), newline="")))


def posts(*rows: PostRow) -> PostsReport:
    """A posts report of these rows."""
    return PostsReport(range=SPAN, sort="revenue", rows=list(rows), total_rows=len(rows))


@pytest.mark.parametrize(
    ("format_", "accept", "expected"),
    [
        (None, None, "json"),
        (None, "*/*", "json"),
        (None, "text/csv", "csv"),
        (None, "text/*", "csv"),
        (None, "application/json, text/csv;q=0.5", "json"),
        (None, "application/json;q=0.4, text/csv", "csv"),
        (None, "text/csv;q=0", "json"),
        (None, "TEXT/CSV; Q=0.8", "csv"),
        (None, "text/csv;q=nan", "json"),
        (None, "text/csv;q=7", "json"),
        ("json", "text/csv", "json"),
        ("csv", "application/json", "csv"),
    ],
)
def test_format_wins_then_accept_decides_and_json_is_the_default(format_, accept, expected) -> None:
    """Given ?format and an Accept header, then ?format decides; else text/csv at least as wanted as JSON is CSV."""
    assert report_format(format_, accept) == expected


def test_a_row_starts_with_what_it_is_then_a_column_per_currency_in_code_order() -> None:
    """Given posts with USD and CAD revenue, when read as CSV, then post_id leads, and each money figure is one column
    per currency (CAD before USD), empty where the post sold nothing in that currency."""
    rows = read(
        "posts",
        posts(
            PostRow(post_id="v1", revenue={"USD": Decimal("62.00"), "CAD": Decimal("20.00")}, driven_revenue={"USD": Decimal("62.00")}),
            PostRow(post_id="v2", comments=3),
        ),
        "posts",
    )
    header = list(rows[0])
    assert header[:8] == ["post_id", "url", "comments", "dms", "orders", "revenue_CAD", "revenue_USD", "soft_pending_orders"]
    assert [(r["post_id"], r["revenue_CAD"], r["revenue_USD"], r["driven_revenue_USD"], r["comments"]) for r in rows] == [
        ("v1", "20.00", "62.00", "62.00", "0"),
        ("v2", "", "", "", "3"),
    ]


def test_an_empty_table_still_has_its_header() -> None:
    """Given no posts, when read as CSV, then the file is the header of the plain columns (money needs a currency)."""
    made = report_table("posts", posts(), "posts")
    assert (list(made.header), made.rows, made.filename) == (PLAIN_POST_COLUMNS, [], "posts-posts_2026-11-01_2026-11-30.csv")


def test_a_flows_steps_are_their_own_table_led_by_the_flow() -> None:
    """Given a flow with two steps, then the flows table has no steps column and the steps table names the flow on each row."""
    flow = FlowRow(flow_id="f1", name="Glow", steps=[FlowStep(step=1, users=10), FlowStep(step=2, users=4, drop_off=0.6)])
    report = FlowsReport(range=SPAN, sort="revenue", rows=[flow], total_rows=1)
    assert "steps" not in read("flows", report, "flows")[0]
    steps = read("flows", report, "steps")
    assert [(s["flow_id"], s["step"], s["users"], s["drop_off"]) for s in steps] == [("f1", "1", "10", ""), ("f1", "2", "4", "0.6")]


def test_an_unknown_table_is_refused_naming_the_field_and_the_choices() -> None:
    """Given a table the report does not have, then 422 on `table` listing the ones it has; none asked is the first."""
    with pytest.raises(Unprocessable) as refused:
        choose(FlowsReport, "funnel")
    assert (refused.value.field, "flows, steps" in str(refused.value)) == ("table", True)
    assert choose(FlowsReport, None) == "flows"


def test_every_report_offers_at_least_one_table() -> None:
    """Given the table registry, then each report type has a default table."""
    assert all(tables for tables in TABLES.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.integers(0, 10**6)), max_size=8, unique_by=lambda kw: kw[0]))
def test_keywords_read_back_exactly_and_never_as_formulas(keywords: list[tuple[str, int]]) -> None:
    """Given any keywords (text that looks like a formula included), when read back, then each row is its keyword (a
    leading = + - @ tab or CR behind a quote, so a spreadsheet shows text) and its fires."""
    report = KeywordsReport(
        range=SPAN,
        sort="fires",
        rows=[KeywordRow(keyword=word, fires=fires) for word, fires in keywords],
        total_rows=len(keywords),
        never_sells_min_fires=5,
    )
    rows = read("keywords", report, "keywords")
    safe = [("'" + word if word.startswith(("=", "+", "-", "@", "\t", "\r")) else word) for word, _ in keywords]
    assert [(r["keyword"], int(r["fires"])) for r in rows] == [(w, fires) for w, (_, fires) in zip(safe, keywords, strict=True)]
